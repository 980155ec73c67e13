// Compressing a causal LM from the command line, on the real SmolLM2-135M-Instruct GGUF
// (tools/fetch_smollm2.sh): static W8A8 with SmoothQuant calibrated on IMDB train, reloaded and
// scored on HellaSwag beside fp32 by squish compare; int8 attention likewise; mixed precision from the sensitivity of
// every model.layers.N; and the refusals that keep HellaSwag out of calibration and each command on the kind of model
// it serves.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "core/file_util.h"
#include "test_paths.h"

namespace squish {
namespace {

using test::data_dir;
using test::quote;
using test::run_squish;
using test::RunResult;

std::string smollm2() {
  const std::string path = test::smollm2_gguf();
  if (!file_exists(path)) ADD_FAILURE() << path << ": run `bash tools/fetch_smollm2.sh` (or set SQUISH_SMOLLM2_GGUF)";
  return path;
}

TEST(CliCausalLmRealModel, SmoothQuantAutoChoosesAnAlphaPerActivation) {
  const std::string out = test::temp_dir("causal_smoothquant_auto") + "/int8";
  const RunResult r = run_squish(
      "quantize --task hellaswag --mode dynamic --smoothquant auto --calib_size 8 "
      "--max_length 32 --model_dir " +
      quote(smollm2()) + " --output_dir " + quote(out) + " --data_dir " + quote(data_dir()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("smoothquant auto"), std::string::npos) << r.out;
  const nlohmann::json q = nlohmann::json::parse(read_file(out + "/quantization.json"));
  EXPECT_EQ(q["smoothquant"]["alpha"], "auto");
  ASSERT_EQ(q["smoothquant"]["inputs"].size(), 90u);
  int smoothed = 0;
  for (const auto& in : q["smoothquant"]["inputs"]) {
    SCOPED_TRACE(in["producer"].get<std::string>());
    EXPECT_LE(in["output_error"].get<double>(), in["output_error_unsmoothed"].get<double>());
    if (in["alpha"].is_null()) continue;
    ++smoothed;
    EXPECT_GT(in["alpha"].get<double>(), 0.0);
    EXPECT_LE(in["alpha"].get<double>(), 1.0);
    EXPECT_LT(in["output_error"].get<double>(), in["output_error_unsmoothed"].get<double>());
  }
  EXPECT_GT(smoothed, 45);  // on 128 texts 75 of 90 chose an alpha; SmolLM2's outliers need it
}

TEST(CliCausalLmRealModel, StaticW8A8WithSmoothQuantCalibratesOnImdbAndScoresCloseToFp32) {
  const std::string out = test::temp_dir("causal_quantize") + "/int8";
  const RunResult r = run_squish(
      "quantize --task hellaswag --mode static --smoothquant 0.5 --calib_size 8 "
      "--max_length 32 --model_dir " +
      quote(smollm2()) + " --output_dir " + quote(out) + " --data_dir " + quote(data_dir()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("8 texts of imdb"), std::string::npos) << r.out;
  const nlohmann::json q = nlohmann::json::parse(read_file(out + "/quantization.json"));
  EXPECT_EQ(q["calibration"]["task"], "imdb");
  EXPECT_EQ(q["calibration"]["size"], 8);
  EXPECT_FALSE(q.contains("duplicates"));             // nothing of HellaSwag is near the calibration texts
  EXPECT_EQ(q["smoothquant"]["inputs"].size(), 90u);  // 30 layers: q|k|v, gate|up and down_proj's inputs
  int static_linears = 0;
  for (const auto& l : q["layers"]) static_linears += l["format"] == "int8-static";
  EXPECT_EQ(static_linears, 120);
  // The GGUF's tokenizer came along as HF's files.
  EXPECT_TRUE(file_exists(out + "/tokenizer.json"));

  // Scored beside fp32 on the same 16 HellaSwag items by squish compare.
  const std::string compared = test::temp_dir("causal_compare") + "/c";
  const RunResult c =
      run_squish("compare --task hellaswag --max_samples 16 --reference " + quote(smollm2()) + " --model " +
                 quote(out) + " --data_dir " + quote(data_dir()) + " --output_dir " + quote(compared));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const nlohmann::json j = nlohmann::json::parse(read_file(compared + "/compare.json"));
  EXPECT_EQ(j["data"]["examples"], 16);
  const nlohmann::json& m = j["multiple_choice"];
  const double drift = m["mean_abs_loglikelihood_delta"].get<double>();
  EXPECT_GT(drift, 0.0);                                             // it really computes in int8
  EXPECT_LT(drift, 6.0);                                             // measured 2.7 nats over ~40-token endings
  EXPECT_GE(m["acc_norm_agreement_rate"].get<double>(), 10.0 / 16);  // measured 14 of 16
  EXPECT_GT(m["loglikelihood_pearson"].get<double>(), 0.9);
}

// --attention int8 and an int8 tied head (--quantize_head on --quantize_embeddings' rows) on a causal
// LM: recorded in quantization.json and the container, shown by inspect, and scored on HellaSwag
// (branches and all) beside fp32 by squish compare. Without --quantize_embeddings the tied head has
// no int8 rows to run on: a clear error.
TEST(CliCausalLmRealModel, Int8AttentionIsStoredAndScoresCloseToFp32) {
  const std::string out = test::temp_dir("causal_int8_attention") + "/int8";
  const std::string common = "quantize --task hellaswag --mode dynamic --attention int8 --quantize_head --model_dir " +
                             quote(smollm2()) + " --data_dir " + quote(data_dir());
  const RunResult no_rows = run_squish(common + " --output_dir " + quote(out + "_no_rows"));
  EXPECT_EQ(no_rows.exit_code, 6);
  EXPECT_NE(no_rows.err.find("--quantize_embeddings"), std::string::npos) << no_rows.err;
  const RunResult r = run_squish(common + " --quantize_embeddings --output_dir " + quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(read_file(out + "/quantization.json"))["scheme"]["attention"], "int8");
  const RunResult inspect = run_squish("inspect --model_dir " + quote(out));
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_NE(inspect.out.find("attention     int8"), std::string::npos) << inspect.out;
  EXPECT_NE(inspect.out.find("lm_head       tied: the int8 rows"), std::string::npos) << inspect.out;
  const std::string compared = test::temp_dir("causal_int8_attention_compare") + "/c";
  const RunResult c =
      run_squish("compare --task hellaswag --max_samples 16 --reference " + quote(smollm2()) + " --model " +
                 quote(out) + " --data_dir " + quote(data_dir()) + " --output_dir " + quote(compared));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const nlohmann::json j = nlohmann::json::parse(read_file(compared + "/compare.json"));
  const nlohmann::json& m = j["multiple_choice"];
  EXPECT_GT(m["mean_abs_loglikelihood_delta"].get<double>(), 0.0);
  EXPECT_GE(m["acc_norm_agreement_rate"].get<double>(), 12.0 / 16);
  EXPECT_GT(m["loglikelihood_pearson"].get<double>(), 0.95);
}

// One run of mixed-precision: the sensitivity of every decoder layer over model.layers.N, then the
// plan scored on HellaSwag beside fp32.
TEST(CliCausalLmRealModel, MixedPrecisionMeasuresEveryDecoderLayerAndScoresHellaswagBeforeAndAfter) {
  const std::string out = test::temp_dir("causal_mixed") + "/run";
  const RunResult r = run_squish(
      "mixed-precision --task hellaswag --max_samples 8 --calib_size 24 --max_length 48 "
      "--bits 4 8 --similarity cka --allocation budget --target_avg_bits 5 --model_dir " +
      quote(smollm2()) + " --output_dir " + quote(out) + " --data_dir " + quote(data_dir()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json s = nlohmann::json::parse(read_file(out + "/sensitivity.json"));
  ASSERT_EQ(s["units"].size(), 31u);  // 30 decoder layers and the (tied) embeddings
  EXPECT_EQ(s["units"][0]["name"], "model.layers.0");
  EXPECT_EQ(s["units"][29]["name"], "model.layers.29");
  for (const auto& unit : s["units"]) {
    const double at4 = unit["widths"][0]["sensitivity"].get<double>(),
                 at8 = unit["widths"][1]["sensitivity"].get<double>();
    EXPECT_GT(at4, at8) << unit["name"];  // fewer bits, larger change
    EXPECT_GT(at8, 0.0) << unit["name"];
  }
  const nlohmann::json j = nlohmann::json::parse(read_file(out + "/results.json"));
  for (const char* side : {"fp32", "quantized"}) {
    SCOPED_TRACE(side);
    EXPECT_EQ(j[side]["metric"]["name"], "acc_norm");
    EXPECT_EQ(j[side]["examples"], 8);
    EXPECT_EQ(j[side]["metric"]["value"], j[side]["acc_norm"]);
    EXPECT_TRUE(j[side].contains("acc"));
    EXPECT_FALSE(j[side].contains("f1"));  // a classifier's metrics do not apply
  }
  EXPECT_LE(j["quantized"]["average_bits"].get<double>(), 5.0);
  // The plan's file against fp32's 4 bytes a parameter: 4- and 8-bit layers, int4/int8 embeddings.
  EXPECT_GT(j["quantized"]["compression_vs_fp32"].get<double>(), 5.0);
  const nlohmann::json q = nlohmann::json::parse(read_file(out + "/model/quantization.json"));
  EXPECT_EQ(q["mode"], "plan");
}

// Every Linear int4-g64 and the tied embeddings int8-rows, by hand (a version 1 plan).
std::string write_int4_plan(const std::string& path) {
  nlohmann::json plan = {{"squish", "bit-plan"}, {"version", 1}, {"embeddings", "int8-rows"}};
  for (int layer = 0; layer < 30; ++layer)
    for (const char* linear : {"self_attn.qkv_proj", "self_attn.o_proj", "mlp.gate_up_proj", "mlp.down_proj"})
      plan["linears"]["model.layers." + std::to_string(layer) + "." + linear] = "int4-g64";
  write_file_atomic(path, plan.dump());
  return path;
}

double perplexity_of(const std::string& model, const std::string& texts) {
  const std::string out = test::temp_dir("causal_ppl") + "/ppl.json";
  const RunResult r = run_squish("perplexity --max_length 64 --model_dir " + quote(model) + " --data_file " +
                                 quote(texts) + " --output " + quote(out));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(read_file(out))["perplexity"].get<double>() : 0.0;
}

// AWQ's scales, then GPTQ in act order, as one --rounding: both recorded; AWQ alone with its clipping
// search; and each 4-bit model closer to fp32 in perplexity than round-to-nearest's on held-out IMDB
// test reviews.
TEST(CliCausalLmRealModel, AwqAndAwqThenGptqBeatRoundToNearest) {
  const std::string dir = test::temp_dir("causal_awq_gptq");
  const std::string plan = write_int4_plan(dir + "/plan.json"), texts = dir + "/texts.jsonl";
  // Six IMDB test reviews (never calibration: that is IMDB train), one every 4,000.
  const std::string all = read_maybe_gzip(data_dir() + "/imdb/test.jsonl.gz");
  std::string lines;
  size_t at = 0;
  for (int line = 0; at < all.size() && line < 24000; ++line) {
    const size_t end = all.find('\n', at);
    if (line % 4000 == 0) lines += all.substr(at, end - at) + "\n";
    at = end == std::string::npos ? all.size() : end + 1;
  }
  write_file_atomic(texts, lines);
  const std::string common = "quantize --task hellaswag --max_length 48 --model_dir " + quote(smollm2()) +
                             " --data_dir " + quote(data_dir()) + " --plan " + quote(plan);
  const RunResult both = run_squish(common + " --calib_size 8 --rounding awq_gptq --act_order --output_dir " +
                                    quote(dir + "/awq_gptq"));
  ASSERT_EQ(both.exit_code, 0) << both.err;
  EXPECT_NE(both.out.find("AWQ scales, then GPTQ Hessians"), std::string::npos) << both.out;
  const nlohmann::json q = nlohmann::json::parse(read_file(dir + "/awq_gptq/quantization.json"));
  EXPECT_EQ(q["scheme"]["rounding"], "awq_gptq");
  EXPECT_EQ(q["scheme"]["gptq"]["act_order"], true);
  EXPECT_EQ(q["awq"].size(), 90u);
  const RunResult nearest = run_squish(common + " --output_dir " + quote(dir + "/nearest"));
  ASSERT_EQ(nearest.exit_code, 0) << nearest.err;
  // AWQ alone: its scales, then its clipping search before rounding to nearest.
  const RunResult awq = run_squish(common + " --calib_size 8 --rounding awq --output_dir " + quote(dir + "/awq"));
  ASSERT_EQ(awq.exit_code, 0) << awq.err;
  const nlohmann::json a = nlohmann::json::parse(read_file(dir + "/awq/quantization.json"));
  const int64_t groups = a["awq_clip"]["row_groups"], clipped = a["awq_clip"]["clipped"];
  EXPECT_EQ(groups, 1658880);       // every row group of the 120 int4-g64 Linears: 106,168,320 weights / 64
  EXPECT_GT(clipped, groups / 10);  // measured about half on 128 texts
  EXPECT_LT(clipped, groups);
  EXPECT_NE(awq.out.find("row groups on a narrower range"), std::string::npos) << awq.out;
  const double fp32 = perplexity_of(smollm2(), texts), rtn = perplexity_of(dir + "/nearest", texts),
               calibrated = perplexity_of(dir + "/awq_gptq", texts), awq_only = perplexity_of(dir + "/awq", texts);
  RecordProperty("perplexity",
                 fmt::format("fp32 {:.3f} rtn {:.3f} awq {:.3f} awq_gptq {:.3f}", fp32, rtn, awq_only, calibrated));
  EXPECT_GT(rtn, fp32);
  EXPECT_LT(calibrated - fp32, rtn - fp32);
  EXPECT_LT(awq_only - fp32, rtn - fp32);
  const RunResult stray = run_squish(common + " --act_order --output_dir " + quote(dir + "/stray"));
  EXPECT_EQ(stray.exit_code, 2);
  EXPECT_NE(stray.err.find("--act_order orders GPTQ's columns"), std::string::npos) << stray.err;
}

TEST(CliCausalLmRealModel, HellaswagNeverCalibratesAndEachCommandServesItsKindOfModel) {
  const std::string gguf = quote(smollm2());
  const std::string items = test::shared_dir() + "/data/hellaswag/hellaswag_val_500_hf_viczon7.jsonl";
  const std::string out = " --output_dir " + quote(test::temp_dir("causal_refusals") + "/q");
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {"quantize --task hellaswag --mode static --calib_data " + quote(items) + " --model_dir " + gguf,
       "--calib_data " + items + " holds multiple-choice items"},
      {"quantize --task hellaswag --mode static --calib_data hellaswag --model_dir " + gguf,
       "HellaSwag's items here are its validation split"},
      {"sensitivity --task hellaswag --calib_data " + quote(items) + " --model_dir " + gguf, "multiple-choice items"},
      {"quantize --task sst2 --mode dynamic --model_dir " + gguf, "is a causal LM; quantize it for --task hellaswag"},
      {"quantize --task hellaswag --mode dynamic --model_dir " + quote(test::tiny_model()),
       "is a classifier; --task hellaswag scores causal LMs"},
      {"quantize --task sst2 --mode static --smoothquant 0.5 --model_dir " + quote(test::tiny_model()),
       "residual stream"},
      {"quantize --task hellaswag --plan any_plan.json --smoothquant auto --model_dir " + gguf,
       "--smoothquant auto scores int8 readers"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args);
    const RunResult r = run_squish(c.args + out + " --data_dir " + quote(data_dir()));
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace squish
