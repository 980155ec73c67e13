// The squish binary end to end: help and usage errors, eval/tokenize/inspect/bench on real and
// tiny models, and broken inputs that must give a clear message and a non-zero exit, never a crash.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"
#include "io/tokenizer/wordpiece.h"
#include "cli/cli_runner.h"
#include "test_paths.h"

namespace squish {
namespace {

namespace fs = std::filesystem;
using test::data_dir;
using test::quote;
using test::run_squish;
using test::RunResult;
using test::tiny_model;

// A model directory with the real tiny model's config and vocab and the given weights bytes.
std::string model_dir_with(const std::string& weights_name, const std::string& weights_bytes,
                           const std::string& config = "") {
  const std::string dir = test::temp_dir("model");
  fs::copy_file(tiny_model() + "/vocab.txt", dir + "/vocab.txt");
  fs::copy_file(tiny_model() + "/tokenizer_config.json", dir + "/tokenizer_config.json");
  if (config.empty()) fs::copy_file(tiny_model() + "/config.json", dir + "/config.json");
  else std::ofstream(dir + "/config.json") << config;
  if (!weights_name.empty()) std::ofstream(dir + "/" + weights_name, std::ios::binary) << weights_bytes;
  return dir;
}

TEST(Cli, HelpListsSubcommandsAndEachHasHelp) {
  const RunResult r = run_squish("--help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* sub : {"eval", "tokenize", "inspect", "bench", "export"}) {
    EXPECT_NE(r.out.find(sub), std::string::npos) << sub;
    const RunResult h = run_squish(std::string(sub) + " --help");
    EXPECT_EQ(h.exit_code, 0) << sub;
    EXPECT_NE(h.out.find("--"), std::string::npos) << sub;
  }
  EXPECT_NE(run_squish("eval --help").out.find("--max_length"), std::string::npos);
}

TEST(Cli, UsageErrorsExitWithTwo) {
  EXPECT_EQ(run_squish("").exit_code, 2);
  EXPECT_EQ(run_squish("frobnicate").exit_code, 2);
  EXPECT_EQ(run_squish("eval --task sst2").exit_code, 2);  // --model_dir missing
  const RunResult r = run_squish("eval --model_dir " + quote(tiny_model()) + " --task sst2 --no_such_flag");
  EXPECT_EQ(r.exit_code, 2);
  const RunResult task = run_squish("eval --model_dir " + quote(tiny_model()) + " --task cola --data_dir " + quote(data_dir()));
  EXPECT_EQ(task.exit_code, 2);
  EXPECT_NE(task.err.find("cola"), std::string::npos) << task.err;
  const RunResult len = run_squish("eval --model_dir " + quote(tiny_model()) + " --task sst2 --max_length 513 --data_dir " + quote(data_dir()));
  EXPECT_EQ(len.exit_code, 2);
  EXPECT_NE(len.err.find("max_length"), std::string::npos) << len.err;
}

TEST(Cli, EvalWritesJsonAndPredictionsInDatasetOrder) {
  const std::string dir = test::temp_dir("eval");
  const RunResult r = run_squish("eval --model_dir " + quote(tiny_model()) + " --task sst2 --data_dir " + quote(data_dir()) +
                                 " --max_samples 60 --seed 3 --batch_size 8 --threads 1 --output " + quote(dir + "/r.json") +
                                 " --predictions " + quote(dir + "/p.jsonl"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("accuracy"), std::string::npos);
  const auto j = nlohmann::json::parse(read_file(dir + "/r.json"));
  EXPECT_EQ(j["schema"], "squish.eval");
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["host"]["threads"], 1);
  EXPECT_EQ(j["request"]["seed"], 3);
  EXPECT_EQ(j["request"]["data_dir"], data_dir());
  EXPECT_EQ(j["data"]["examples"], 60);
  EXPECT_EQ(j["task_metric"]["name"], "accuracy");
  EXPECT_EQ(j["model"]["parameters"], 4386178);
  EXPECT_EQ(j["model"]["id2label"]["1"], "positive");
  EXPECT_EQ(j["model"]["weights_file_bytes"], 17549312);
  // The packed weights are all squish keeps (no second fp32 copy): within 1% of the fp32 parameters.
  EXPECT_LT(j["model"]["resident_bytes"].get<double>(), 4386178 * 4 * 1.01);
  EXPECT_EQ(j["timing"]["threads"], 1);
  EXPECT_GT(j["timing"]["load_seconds"].get<double>(), 0.0);
  EXPECT_EQ(j["confusion_matrix"]["labels"], nlohmann::json({"negative", "positive"}));
  std::ifstream preds(dir + "/p.jsonl");
  std::string line;
  int64_t n = 0, correct = 0, last_index = -1;
  while (std::getline(preds, line)) {
    const auto p = nlohmann::json::parse(line);
    EXPECT_GT(p["index"].get<int64_t>(), last_index);
    last_index = p["index"];
    EXPECT_EQ(p["logits"].size(), 2u);
    const auto& l = p["logits"];
    EXPECT_EQ(p["pred"].get<int>(), l[1].get<double>() > l[0].get<double>() ? 1 : 0);
    correct += p["pred"] == p["label"];
    ++n;
  }
  EXPECT_EQ(n, 60);
  EXPECT_DOUBLE_EQ(j["metrics"]["accuracy"].get<double>(), static_cast<double>(correct) / 60.0);
  const auto& cm = j["confusion_matrix"]["counts"];
  EXPECT_EQ(cm[0][0].get<int64_t>() + cm[1][1].get<int64_t>(), correct);
  fs::remove_all(dir);
}

TEST(Cli, UnlabeledTestSplitGivesPredictionsOnly) {
  const std::string dir = test::temp_dir("test_split");
  const RunResult r = run_squish("eval --model_dir " + quote(tiny_model()) + " --task sst2 --split test --data_dir " +
                                 quote(data_dir()) + " --output " + quote(dir + "/r.json") + " --predictions " +
                                 quote(dir + "/p.jsonl"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(read_file(dir + "/r.json"));
  EXPECT_EQ(j["data"]["examples"], 1821);
  EXPECT_FALSE(j["data"]["labeled"].get<bool>());
  EXPECT_FALSE(j.contains("metrics"));
  std::istringstream lines(read_file(dir + "/p.jsonl"));
  std::string first;
  std::getline(lines, first);
  const auto p = nlohmann::json::parse(first);
  EXPECT_EQ(p["index"], 0);
  EXPECT_EQ(p["label"], -1);
  fs::remove_all(dir);
}

TEST(Cli, EvalIsDeterministicForASeedAndDiffersAcrossSeeds) {
  auto preds = [&](int seed, int threads) {
    const std::string dir = test::temp_dir("det");
    const RunResult r = run_squish("eval --model_dir " + quote(tiny_model()) + " --task mrpc --data_dir " + quote(data_dir()) +
                                   " --max_samples 40 --seed " + std::to_string(seed) + " --threads " +
                                   std::to_string(threads) + " --predictions " + quote(dir + "/p.jsonl"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string s = read_file(dir + "/p.jsonl");
    fs::remove_all(dir);
    return s;
  };
  const std::string a = preds(5, 1);
  EXPECT_EQ(a, preds(5, 1));
  EXPECT_NE(a, preds(6, 1));
  // oneDNN and squish's kernels split work by rows and columns, never along a dot product, so the
  // thread count does not change a single bit of the logits.
  EXPECT_EQ(a, preds(5, 2));
  EXPECT_EQ(preds(5, 2), preds(5, 2));
}

TEST(Cli, TokenizeMatchesTheLibraryTokenizer) {
  const std::string input = "{\"text\": \"Hello, wörld! 你好\"}\n{\"text\": \"a b\", \"text_pair\": \"c d e\"}\n";
  const RunResult r = run_squish("tokenize --model_dir " + quote(tiny_model()) + " --max_length 16", input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const WordPieceTokenizer tok = WordPieceTokenizer::from_model_dir(tiny_model());
  std::istringstream lines(r.out);
  std::string line;
  std::getline(lines, line);
  auto j = nlohmann::json::parse(line);
  const Encoding e1 = tok.encode("Hello, wörld! 你好", 16);
  EXPECT_EQ(j["input_ids"].get<std::vector<int32_t>>(), e1.input_ids);
  EXPECT_EQ(j["attention_mask"].get<std::vector<int32_t>>(), e1.attention_mask);
  std::getline(lines, line);
  j = nlohmann::json::parse(line);
  const Encoding e2 = tok.encode_pair("a b", "c d e", 16);
  EXPECT_EQ(j["input_ids"].get<std::vector<int32_t>>(), e2.input_ids);
  EXPECT_EQ(j["token_type_ids"].get<std::vector<int32_t>>(), e2.token_type_ids);
}

TEST(Cli, TokenizeNamesTheBadLine) {
  const RunResult r = run_squish("tokenize --model_dir " + quote(tiny_model()), "{\"text\": \"ok\"}\n{\"txt\": 1}\n");
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("stdin:2"), std::string::npos) << r.err;
  const RunResult bad = run_squish("tokenize --model_dir " + quote(tiny_model()), "not json\n");
  EXPECT_EQ(bad.exit_code, 4);
  EXPECT_NE(bad.err.find("stdin:1"), std::string::npos) << bad.err;
}

TEST(Cli, InspectReportsArchitectureAndParameters) {
  const RunResult r = run_squish("inspect --json --model_dir " + quote(tiny_model()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["architecture"], "BertForSequenceClassification");
  EXPECT_EQ(j["parameters"], 4386178);
  EXPECT_EQ(j["dtypes"]["F32"], 41);
  EXPECT_EQ(j["unused_tensors"].size(), 0u);
  EXPECT_EQ(j["config"]["layer_norm_eps"].dump(), "1e-12");  // as config.json writes it
  ASSERT_EQ(j["linears"].size(), 2u * 4 + 2);
  EXPECT_EQ(j["linears"][0]["name"], "encoder.layer.0.attention.self.qkv");
  EXPECT_EQ(j["linears"][0]["parts"], nlohmann::json({"encoder.layer.0.attention.self.query",
                                                      "encoder.layer.0.attention.self.key",
                                                      "encoder.layer.0.attention.self.value"}));
  EXPECT_EQ(j["linears"][0]["format"], "f32");
  EXPECT_EQ(j["linears"][9]["name"], "classifier");
  EXPECT_EQ(j["parameter_groups"]["embeddings"], 30522 * 128 + 512 * 128 + 2 * 128 + 2 * 128);
  EXPECT_EQ(j["weights_file_bytes"], 17549312);
  const RunResult text = run_squish("inspect --model_dir " + quote(tiny_model()));
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("feed_forward"), std::string::npos);
}

TEST(Cli, BenchRunsOnAConfigAndWritesJson) {
  const std::string dir = test::temp_dir("bench");
  const RunResult r = run_squish("bench --config " + quote(test::fixtures_dir() + "/tiny_bert/config.json") +
                                 " --batch 2 --seq 20 --runs 3 --output " + quote(dir + "/b.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(read_file(dir + "/b.json"));
  EXPECT_EQ(j["schema"], "squish.bench");
  EXPECT_EQ(j["runs"], 3);
  EXPECT_EQ(j["warmup"], 2);
  EXPECT_EQ(j["seed"], 42);
  EXPECT_EQ(j["config"], test::fixtures_dir() + "/tiny_bert/config.json");
  EXPECT_EQ(j["run_ms"].size(), 3u);
  EXPECT_GT(j["sequences_per_second"].get<double>(), 0.0);
  EXPECT_EQ(run_squish("bench --config x.json --model_dir y --batch 1").exit_code, 2);
  EXPECT_EQ(run_squish("bench --config " + quote(test::fixtures_dir() + "/tiny_bert/config.json") + " --seq 21").exit_code, 2);
  fs::remove_all(dir);
}

TEST(Cli, BenchTimesDynamicInt8) {
  const std::string config = quote(test::fixtures_dir() + "/tiny_bert/config.json");
  const RunResult r = run_squish("bench --config " + config + " --batch 2 --seq 8 --runs 2 --quant dynamic --output -");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["quant"], "dynamic");
  EXPECT_EQ(j["quant_options"]["per_channel"], true);
  const RunResult text = run_squish("bench --config " + config + " --batch 2 --seq 8 --runs 2 --quant dynamic --per_tensor --quantize_head");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("int8 dynamic W8A32 (10 Linears, weights per tensor)"), std::string::npos) << text.out;
  EXPECT_EQ(run_squish("bench --config " + config + " --quant dynamic --per_tensor --per_channel").exit_code, 2);
  EXPECT_EQ(run_squish("bench --config " + config + " --quant int4").exit_code, 2);
  const RunResult st = run_squish("bench --config " + config + " --batch 2 --seq 8 --runs 2 --quant static --output -");
  ASSERT_EQ(st.exit_code, 0) << st.err;
  EXPECT_EQ(nlohmann::json::parse(st.out)["formats"]["int8-static"], 8);
}

// squish quantize on the real tiny model: a directory eval, inspect and bench read, its
// quantization.json naming the calibration examples, and re-quantizing refused.
std::string quantized_tiny(const std::string& extra = "") {
  const std::string dir = test::temp_dir("quantized") + "/q";
  const RunResult r = run_squish("quantize --model_dir " + quote(tiny_model()) + " --task sst2 --data_dir " +
                                 quote(data_dir()) + " --calib_size 64 --output_dir " + quote(dir) + " " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return dir;
}

TEST(Cli, QuantizeWritesADirectoryEveryCommandReads) {
  const std::string dir = quantized_tiny("--observer percentile --percentile 99.9");
  const auto q = nlohmann::json::parse(read_file(dir + "/quantization.json"));
  EXPECT_EQ(q["schema"], "squish.quantization");
  EXPECT_EQ(q["mode"], "static");
  EXPECT_EQ(q["calibration"]["split"], "train");
  EXPECT_EQ(q["calibration"]["indices"].size(), 64u);
  EXPECT_EQ(q["calibration"]["observer"]["kind"], "percentile");
  EXPECT_EQ(q["duplicates"]["evaluation_split"], "dev");
  EXPECT_EQ(q["scheme"]["formats"]["int8-static"], 8);
  EXPECT_LT(q["size"]["file_bytes"].get<int64_t>(), q["source"]["file_bytes"].get<int64_t>());
  const RunResult eval = run_squish("eval --model_dir " + quote(dir) + " --task sst2 --data_dir " + quote(data_dir()) +
                                    " --max_samples 64 --output -");
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  const auto e = nlohmann::json::parse(eval.out);
  EXPECT_EQ(e["model"]["weights_file_bytes"], q["size"]["file_bytes"]);
  EXPECT_GT(e["model"]["compression_vs_fp32"].get<double>(), 1.0);
  const RunResult inspect = run_squish("inspect --model_dir " + quote(dir));
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_NE(inspect.out.find("encoder.layer.1.output.dense"), std::string::npos) << inspect.out;
  EXPECT_NE(inspect.out.find("int8-static   s8 per_channel, u8 input scale"), std::string::npos) << inspect.out;
  EXPECT_EQ(run_squish("bench --model_dir " + quote(dir) + " --batch 2 --seq 8 --runs 1").exit_code, 0);
  EXPECT_EQ(run_squish("bench --model_dir " + quote(dir) + " --runs 1 --quant dynamic").exit_code, 2);
  const RunResult again = run_squish("quantize --model_dir " + quote(dir) + " --task sst2 --data_dir " +
                                     quote(data_dir()) + " --output_dir " + quote(dir + "2"));
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("already quantized"), std::string::npos) << again.err;
  EXPECT_FALSE(fs::exists(dir + "2"));
  // Calibrating on the split being scored is refused, naming both.
  const RunResult leak = run_squish("quantize --model_dir " + quote(tiny_model()) + " --task sst2 --data_dir " +
                                    quote(data_dir()) + " --calib_split dev --output_dir " + quote(dir + "3"));
  EXPECT_EQ(leak.exit_code, 2);
  EXPECT_NE(leak.err.find("--calib_split dev is the split sst2 is evaluated on"), std::string::npos) << leak.err;
  EXPECT_FALSE(fs::exists(dir + "3"));
  // --reduce_range: 7-bit activation grids, said in quantization.json and inspect; refused with a plan.
  const std::string reduced = test::temp_dir("reduced") + "/q";
  const RunResult r = run_squish("quantize --model_dir " + quote(tiny_model()) + " --task sst2 --data_dir " +
                                 quote(data_dir()) + " --calib_size 64 --reduce_range --output_dir " + quote(reduced));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rq = nlohmann::json::parse(read_file(reduced + "/quantization.json"));
  EXPECT_EQ(rq["scheme"]["activation_qmax"], 127);
  EXPECT_EQ(rq["layers"][0]["input"]["qmax"], 127);
  const RunResult ri = run_squish("inspect --model_dir " + quote(reduced));
  EXPECT_NE(ri.out.find("(reduced range 0..127)"), std::string::npos) << ri.out;
  const std::string plan = test::temp_dir("reduced_plan") + "/plan.json";
  std::ofstream(plan) << R"({"squish": "bit-plan", "version": 1, "linears": {}})";
  const RunResult with_plan = run_squish("quantize --model_dir " + quote(tiny_model()) + " --task sst2 --data_dir " +
                                         quote(data_dir()) + " --plan " + quote(plan) + " --reduce_range --output_dir " +
                                         quote(reduced + "2"));
  EXPECT_EQ(with_plan.exit_code, 2);
  EXPECT_NE(with_plan.err.find("--reduce_range"), std::string::npos) << with_plan.err;
  EXPECT_FALSE(fs::exists(reduced + "2"));
}

// --rounding gptq in the int8 modes (llm-compressor's W8A8 recipe): round-to-nearest's weight scales
// and calibrated input grids kept, only the codes GPTQ's, layer after layer; refused with --max_drop,
// whose fallback variants are round-to-nearest's, and AWQ's searches stay a --plan's.
TEST(Cli, Int8GptqKeepsNearestsScalesAndGridsAndChangesTheCodes) {
  const std::string dir = test::temp_dir("int8_gptq");
  const std::string common = "quantize --model_dir " + quote(tiny_model()) + " --task sst2 --data_dir " +
                             quote(data_dir()) + " --mode static --calib_size 64";
  const RunResult nearest = run_squish(common + " --output_dir " + quote(dir + "/nearest"));
  ASSERT_EQ(nearest.exit_code, 0) << nearest.err;
  const RunResult gptq = run_squish(common + " --rounding gptq --act_order --output_dir " + quote(dir + "/gptq"));
  ASSERT_EQ(gptq.exit_code, 0) << gptq.err;
  EXPECT_NE(gptq.out.find("static W8A8 per channel, gptq rounding"), std::string::npos) << gptq.out;
  EXPECT_NE(gptq.out.find("observer minmax, then GPTQ Hessians"), std::string::npos) << gptq.out;
  const auto n = nlohmann::json::parse(read_file(dir + "/nearest/quantization.json"));
  const auto g = nlohmann::json::parse(read_file(dir + "/gptq/quantization.json"));
  EXPECT_EQ(n["scheme"]["rounding"], "nearest");
  EXPECT_EQ(g["scheme"]["rounding"], "gptq");
  EXPECT_EQ(g["scheme"]["gptq"]["act_order"], true);
  EXPECT_EQ(g["scheme"]["formats"]["int8-static"], 8);
  ASSERT_EQ(g["layers"].size(), n["layers"].size());
  int compared = 0;
  for (size_t i = 0; i < g["layers"].size(); ++i) {
    SCOPED_TRACE(g["layers"][i]["name"].get<std::string>());
    EXPECT_EQ(g["layers"][i]["format"], n["layers"][i]["format"]);
    if (n["layers"][i]["format"] != "int8-static") continue;  // the pooler and classifier stay fp32
    ++compared;
    EXPECT_EQ(g["layers"][i]["weight_scale"], n["layers"][i]["weight_scale"]);
    EXPECT_EQ(g["layers"][i]["input"], n["layers"][i]["input"]);
  }
  EXPECT_EQ(compared, 8);
  EXPECT_NE(read_file(dir + "/gptq/model.safetensors"), read_file(dir + "/nearest/model.safetensors"));
  // Dynamic per tensor: Q, K and V keep a scale each inside their fused Linear.
  const std::string dynamic = "quantize --model_dir " + quote(tiny_model()) + " --task sst2 --data_dir " +
                              quote(data_dir()) + " --mode dynamic --per_tensor --calib_size 64";
  ASSERT_EQ(run_squish(dynamic + " --rounding gptq --output_dir " + quote(dir + "/dg")).exit_code, 0);
  const RunResult dynamic_nearest =
      run_squish("quantize --model_dir " + quote(tiny_model()) + " --task sst2 --mode dynamic --per_tensor" +
                 " --output_dir " + quote(dir + "/dn"));
  ASSERT_EQ(dynamic_nearest.exit_code, 0) << dynamic_nearest.err;
  const auto dg = nlohmann::json::parse(read_file(dir + "/dg/quantization.json"));
  const auto dn = nlohmann::json::parse(read_file(dir + "/dn/quantization.json"));
  EXPECT_EQ(dg["scheme"]["formats"]["int8-dynamic"], 8);
  for (size_t i = 0; i < dg["layers"].size(); ++i) {
    if (dn["layers"][i]["format"] != "int8-dynamic") continue;
    EXPECT_EQ(dg["layers"][i]["weight_scale"], dn["layers"][i]["weight_scale"]) << i;
  }
  EXPECT_NE(read_file(dir + "/dg/model.safetensors"), read_file(dir + "/dn/model.safetensors"));
  const RunResult eval = run_squish("eval --model_dir " + quote(dir + "/gptq") + " --task sst2 --data_dir " +
                                    quote(data_dir()) + " --max_samples 64 --output -");
  EXPECT_EQ(eval.exit_code, 0) << eval.err;
  const RunResult fallback = run_squish(common + " --rounding gptq --max_drop 1 --output_dir " + quote(dir + "/f"));
  EXPECT_EQ(fallback.exit_code, 2);
  EXPECT_NE(fallback.err.find("--max_drop falls back round-to-nearest int8 Linears"), std::string::npos)
      << fallback.err;
  const RunResult awq = run_squish(common + " --rounding awq --output_dir " + quote(dir + "/a"));
  EXPECT_EQ(awq.exit_code, 2);
  EXPECT_NE(awq.err.find("searches scales for a --plan's formats"), std::string::npos) << awq.err;
  EXPECT_FALSE(fs::exists(dir + "/f"));
  EXPECT_FALSE(fs::exists(dir + "/a"));
}

// --attention int8: recorded in quantization.json and the model, and what eval and bench then run.
TEST(Cli, QuantizeWithInt8AttentionStoresIt) {
  const std::string dir = quantized_tiny("--attention int8");
  const auto q = nlohmann::json::parse(read_file(dir + "/quantization.json"));
  EXPECT_EQ(q["scheme"]["attention"], "int8");
  const RunResult inspect = run_squish("inspect --model_dir " + quote(dir));
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_NE(inspect.out.find("attention     int8"), std::string::npos) << inspect.out;
  const RunResult bench = run_squish("bench --model_dir " + quote(dir) + " --batch 2 --seq 8 --runs 1 --output -");
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  EXPECT_EQ(nlohmann::json::parse(bench.out)["attention"], "int8");
  const std::string eval =
      "eval --task sst2 --data_dir " + quote(data_dir()) + " --max_samples 64 --output - --model_dir ";
  const RunResult int8 = run_squish(eval + quote(dir));
  const RunResult f32 = run_squish(eval + quote(quantized_tiny()));
  ASSERT_EQ(int8.exit_code, 0) << int8.err;
  ASSERT_EQ(f32.exit_code, 0) << f32.err;
  // The same weights and grids; only attention's arithmetic differs, and the tiny model barely notices.
  const double a = nlohmann::json::parse(int8.out)["metrics"]["accuracy"],
               b = nlohmann::json::parse(f32.out)["metrics"]["accuracy"];
  EXPECT_NEAR(a, b, 0.05);
  EXPECT_EQ(
      run_squish("bench --config " + quote(tiny_model() + "/config.json") + " --runs 1 --attention int4").exit_code, 2);
  EXPECT_EQ(run_squish("bench --config " + quote(tiny_model() + "/config.json") + " --runs 1 --train --attention int8")
                .exit_code,
            2);
}

// ptq-compare --attention int8: both quantized variants are saved with int8 attention.
TEST(Cli, PtqCompareWithInt8AttentionQuantizesEveryVariantSo) {
  const std::string out = test::temp_dir("ptq_int8_attention") + "/run";
  const RunResult r =
      run_squish("ptq-compare --model_dir " + quote(tiny_model()) + " --task sst2 --data_dir " + quote(data_dir()) +
                 " --calib_size 16 --max_samples 32 --max_length 32" + " --attention int8 --output_dir " + quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(read_file(out + "/ptq_compare.json"))["request"]["attention"], "int8");
  for (const char* variant : {"dynamic", "static"})
    EXPECT_EQ(nlohmann::json::parse(read_file(out + "/" + variant + "/quantization.json"))["scheme"]["attention"],
              "int8")
        << variant;
}

// Broken quantized directories: each a clear error naming the file or tensor, exit 4, no crash
// (tools/test.sh runs this suite on the sanitized binary too).
TEST(Cli, BrokenQuantizedDirectoriesFailCleanly) {
  const std::string good = quantized_tiny();
  std::map<std::string, std::string> metadata;
  const TensorMap tensors = read_safetensors(good + "/model.safetensors", &metadata);
  const auto rewrite = [&](const std::function<void(std::vector<TensorToWrite>&, std::map<std::string, std::string>&)>& edit) {
    std::vector<TensorToWrite> out;
    for (const auto& [name, t] : tensors)
      out.push_back({name, t.dtype, t.shape, std::string(static_cast<const char*>(t.data), t.nbytes)});
    std::map<std::string, std::string> meta = metadata;
    edit(out, meta);
    return safetensors_bytes(out, meta);
  };
  const auto find = [](std::vector<TensorToWrite>& ts, const std::string& name) -> TensorToWrite& {
    for (auto& t : ts)
      if (t.name == name) return t;
    throw std::runtime_error("no tensor " + name);
  };
  const std::string query = "bert.encoder.layer.0.attention.self.query";
  const std::string bytes = read_file(good + "/model.safetensors");
  struct Case {
    std::string name, weights, message;
  };
  const std::vector<Case> cases = {
      {"truncated container", bytes.substr(0, bytes.size() - 1000), "model.safetensors"},
      {"wrong container version",
       rewrite([](auto&, auto& meta) { meta["squish.container_version"] = "7"; }), "squish container version '7'"},
      {"scales that do not match their tensor",
       rewrite([&](auto& ts, auto&) {
         TensorToWrite& s = find(ts, query + ".weight_scale");
         s.shape = {3};
         s.bytes.resize(12);
       }),
       query + ".weight_scale': expected shape"},
      {"int8 weights tagged F32",
       rewrite([&](auto& ts, auto&) {
         TensorToWrite& w = find(ts, query + ".weight");
         w.dtype = DType::kF32;
         w.shape = {w.shape[0] / 4, w.shape[1]};
       }),
       query + ".weight': the plan stores it as int8-static, expected dtype I8, found F32"},
      {"a plan naming a layer that does not exist",
       rewrite([](auto&, auto& meta) {
         auto plan = nlohmann::json::parse(meta["squish.plan"]);
         plan["encoder.layer.9.output.dense"] = "int8-static";
         meta["squish.plan"] = plan.dump();
       }),
       "names Linear 'encoder.layer.9.output.dense', which this"},
      {"a plan with an unknown format",
       rewrite([](auto&, auto& meta) {
         auto plan = nlohmann::json::parse(meta["squish.plan"]);
         plan["classifier"] = "int3";
         meta["squish.plan"] = plan.dump();
       }),
       "unknown weight format 'int3'"},
      {"a zero scale",
       rewrite([&](auto& ts, auto&) {
         TensorToWrite& s = find(ts, query + ".input_scale");
         s.bytes.assign(4, '\0');
       }),
       query + ".input_scale': scale 0"},
  };
  for (const Case& c : cases) {
    const std::string dir = model_dir_with("model.safetensors", c.weights);
    const RunResult r = run_squish("eval --model_dir " + quote(dir) + " --task sst2 --data_dir " + quote(data_dir()));
    EXPECT_EQ(r.exit_code, 4) << c.name << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.name << ": " << r.err;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << c.name;
  }
}

TEST(Cli, EvalReadsPytorchBinWhenThereIsNoSafetensors) {
  const std::string dir = model_dir_with("pytorch_model.bin", read_file(tiny_model() + "/pytorch_model.bin"));
  const std::string out = test::temp_dir("bin");
  const RunResult r = run_squish("eval --model_dir " + quote(dir) + " --task sst2 --data_dir " + quote(data_dir()) +
                                 " --output " + quote(out + "/r.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(read_file(out + "/r.json"));
  EXPECT_NE(j["model"]["weights_file"].get<std::string>().find("pytorch_model.bin"), std::string::npos);
  EXPECT_EQ(j["metrics"]["accuracy"].get<double>(), 706.0 / 872.0);  // the README's 706/872
  fs::remove_all(dir);
  fs::remove_all(out);
}

// export writes what eval reads back to the same logits (transformers reading it is checked by
// tools/check_export.py); an existing output directory is never overwritten.
TEST(Cli, ExportRoundTripsThroughEval) {
  const std::string dir = test::temp_dir("export");
  auto preds = [&](const std::string& model) {
    const RunResult r = run_squish("eval --model_dir " + quote(model) + " --task sst2 --data_dir " + quote(data_dir()) +
                                   " --max_samples 50 --threads 1 --predictions " + quote(dir + "/p.jsonl"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return read_file(dir + "/p.jsonl");
  };
  const RunResult f32 = run_squish("export --model_dir " + quote(tiny_model()) + " --output_dir " + quote(dir + "/f32"));
  ASSERT_EQ(f32.exit_code, 0) << f32.err;
  EXPECT_EQ(preds(dir + "/f32"), preds(tiny_model()));
  // The same tensors as the original; only the header's padding may differ (squish aligns the data to 64 bytes).
  EXPECT_NEAR(static_cast<double>(fs::file_size(dir + "/f32/model.safetensors")),
              static_cast<double>(fs::file_size(tiny_model() + "/model.safetensors")), 64.0);
  EXPECT_EQ(nlohmann::json::parse(read_file(dir + "/f32/config.json"))["dtype"], "float32");
  const RunResult f16 = run_squish("export --model_dir " + quote(tiny_model()) + " --dtype f16 --output_dir " + quote(dir + "/f16"));
  ASSERT_EQ(f16.exit_code, 0) << f16.err;
  EXPECT_LT(fs::file_size(dir + "/f16/model.safetensors"), fs::file_size(dir + "/f32/model.safetensors") / 2 + 4096);
  const RunResult again = run_squish("export --model_dir " + quote(tiny_model()) + " --output_dir " + quote(dir + "/f32"));
  EXPECT_EQ(again.exit_code, 3);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(run_squish("export --model_dir " + quote(tiny_model()) + " --dtype f8 --output_dir " + quote(dir + "/x")).exit_code, 2);
  for (const auto& entry : fs::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
  fs::remove_all(dir);
}

TEST(Cli, BrokenModelsFailCleanlyAndLeaveNoOutput) {
  const std::string good = read_file(tiny_model() + "/model.safetensors");
  const std::string out_dir = test::temp_dir("out");
  const std::string output = out_dir + "/results.json";
  struct Case {
    std::string name, dir;
    int exit_code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"truncated safetensors", model_dir_with("model.safetensors", good.substr(0, good.size() / 2)), 4, "model.safetensors"},
      {"header length lies", model_dir_with("model.safetensors", std::string("\xff\xff\xff\xff\x00\x00\x00\x00", 8) + "{}"), 4, "model.safetensors"},
      {"no weights", model_dir_with("", ""), 3, "no weights found"},
      {"unknown model_type", model_dir_with("model.safetensors", good, R"({"model_type": "gpt_neox"})"), 6, "unknown model_type"},
      {"legacy pickle", model_dir_with("pytorch_model.bin", std::string("\x80\x02\x8a\x0al\xfc\x9c" "F\xf9 j\xa8P\x19.", 16)), 4, "legacy"},
      {"missing directory", "/nonexistent/model", 3, "/nonexistent/model: no such directory"},
      {"vocab larger than the model's",  // the tiny fixture model (61 ids) beside a 30,522-token vocab.txt
       model_dir_with("model.safetensors", read_file(test::fixtures_dir() + "/tiny_bert/model.safetensors"),
                      read_file(test::fixtures_dir() + "/tiny_bert/config.json")),
       6, "vocab_size is 61"},
  };
  for (const Case& c : cases) {
    const RunResult r = run_squish("eval --model_dir " + quote(c.dir) + " --task sst2 --data_dir " + quote(data_dir()) +
                                   " --output " + quote(output));
    EXPECT_EQ(r.exit_code, c.exit_code) << c.name << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.name << ": " << r.err;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << c.name;
    EXPECT_FALSE(fs::exists(output)) << c.name;
    EXPECT_EQ(fs::directory_iterator(out_dir), fs::directory_iterator()) << c.name << " left a file behind";
  }
}

// Every usage mistake a new user makes in the first hour: exit 2, squish's own words naming the flag,
// the value and what was expected, never CLI11's internals, never an abort.
TEST(Cli, UsageMistakesGetOneErrorStyle) {
  const std::string m = " --model_dir " + quote(tiny_model()) + " --data_dir " + quote(data_dir());
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {"evl", "unknown command 'evl' (did you mean 'eval'?)"},
      {"", "a command is required"},
      {"eval --task sst2", "eval: --model_dir is required"},
      {"eval" + m + " --task sst2 --batch_size 0", "--batch_size: expected an integer from 1 to 65536, found '0'"},
      {"eval" + m + " --task sst2 --max_lenght 64", "unknown flag --max_lenght (did you mean --max_length?)"},
      {"eval" + m + " --task sst2 --max_samples -5", "--max_samples: expected an integer >= 0, found '-5'"},
      {"eval" + m + " --task sst2 --seed -1", "--seed: expected an integer >= 0, found '-1'"},
      {"eval" + m + " --task sst2 --threads 100000", "--threads: expected an integer from 0 to"},
      {"eval" + m + " --task sst2 --batch_size abc", "--batch_size: expected an integer from 1 to 65536, found 'abc'"},
      {"eval" + m + " --task cola", "--task: expected sst2 | mrpc | imdb | hellaswag, found 'cola'"},
      {"eval" + m + " --task mrpc --max_length 2", "--max_length 2: expected 3..512"},
      {"eval" + m + " --task sst2 --max_length 513", "--max_length 513: expected 2..512"},
      {"bench --config " + quote(test::fixtures_dir() + "/tiny_bert/config.json") + " --warmup -1",
       "--warmup: expected an integer from 0 to 1000000000, found '-1'"},
      {"bench --config " + quote(test::fixtures_dir() + "/tiny_bert/config.json") + " --seq 21", "exceeds the model's max_position_embeddings 20"},
      {"tokenize --model_dir " + quote(tiny_model()) + " --max_length 100000", "--max_length 100000: expected at most 512"},
      {"export --model_dir " + quote(tiny_model()) + " --output_dir x --dtype f8", "--dtype: expected f32 | f16, found 'f8'"},
  };
  for (const Case& c : cases) {
    const RunResult r = run_squish(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << ": " << r.err;
    EXPECT_NE(r.err.find("squish: error: "), std::string::npos) << c.args << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << ": " << r.err;
    EXPECT_EQ(r.err.find("terminate called"), std::string::npos) << c.args;
    EXPECT_EQ(r.err.find("not in range"), std::string::npos) << c.args << ": " << r.err;
  }
  // The Python tools' dash spelling is the same flag.
  const RunResult dashed = run_squish("eval" + m + " --task sst2 --max-samples 8 --batch-size=4");
  EXPECT_EQ(dashed.exit_code, 0) << dashed.err;
  EXPECT_NE(dashed.out.find("sst2 dev (8 examples)"), std::string::npos) << dashed.out;
}

TEST(Cli, MisleadingDirectoriesAndEnvironmentAreNamed) {
  const RunResult missing = run_squish("eval --model_dir /nonexistent --task sst2");
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_NE(missing.err.find("/nonexistent: no such directory"), std::string::npos) << missing.err;
  const RunResult file = run_squish("inspect --model_dir " + quote(tiny_model() + "/config.json"));
  EXPECT_EQ(file.exit_code, 3);
  EXPECT_NE(file.err.find("is a file, expected a HF model directory"), std::string::npos) << file.err;
  EXPECT_EQ(file.err.find("config.json/"), std::string::npos) << file.err;
  // The OPT tokenizer directory (config and tokenizer, no weights): eval says what is missing, inspect
  // sizes the model from its config alone.
  const std::string opt = test::shared_dir() + "/models/opt-125m-tokenizer";
  const RunResult no_weights = run_squish("eval --model_dir " + quote(opt) + " --task sst2");
  EXPECT_EQ(no_weights.exit_code, 3);
  EXPECT_NE(no_weights.err.find("no weights found"), std::string::npos) << no_weights.err;
  const RunResult sized = run_squish("inspect --model_dir " + quote(opt));
  EXPECT_EQ(sized.exit_code, 0) << sized.err;
  EXPECT_NE(sized.out.find("125,239,296"), std::string::npos) << sized.out;
  const RunResult isa = run_squish("tokenize --model_dir " + quote(tiny_model()), "{\"text\": \"hi\"}\n");
  EXPECT_EQ(isa.exit_code, 0);
  setenv("SQUISH_ISA", "bogus", 1);
  const RunResult bogus = run_squish("tokenize --model_dir " + quote(tiny_model()), "{\"text\": \"hi\"}\n");
  unsetenv("SQUISH_ISA");
  EXPECT_EQ(bogus.exit_code, 2);
  EXPECT_NE(bogus.err.find("SQUISH_ISA=bogus"), std::string::npos) << bogus.err;
}

// Outputs are checked before the work and written into what they name: straight through to devices
// and "-", through a symlink to its target, and a failed write to stdout is exit 3.
TEST(Cli, OutputsAreCheckedFirstAndWrittenWhereTheyPoint) {
  const std::string m = " --model_dir " + quote(tiny_model()) + " --data_dir " + quote(data_dir()) + " --task sst2 --max_samples 4";
  for (const char* flag : {"--output", "--predictions"}) {
    const RunResult r = run_squish("eval" + m + " " + flag + " /nonexistent/dir/r.json");
    EXPECT_EQ(r.exit_code, 3) << flag;
    EXPECT_NE(r.err.find(std::string(flag) + " /nonexistent/dir/r.json: directory /nonexistent/dir does not exist"),
              std::string::npos) << r.err;
    EXPECT_EQ(r.out, "") << flag << ": the evaluation ran before the output was checked";
  }
  const std::string dir = test::temp_dir("outputs");
  fs::create_symlink(dir + "/target.json", dir + "/link.json");
  ASSERT_EQ(run_squish("eval" + m + " --output " + quote(dir + "/link.json")).exit_code, 0);
  EXPECT_TRUE(fs::is_symlink(dir + "/link.json"));
  EXPECT_EQ(nlohmann::json::parse(read_file(dir + "/target.json"))["schema"], "squish.eval");
  const RunResult to_stdout = run_squish("eval" + m + " --output -");
  ASSERT_EQ(to_stdout.exit_code, 0) << to_stdout.err;
  EXPECT_EQ(nlohmann::json::parse(to_stdout.out)["data"]["examples"], 4);
  EXPECT_FALSE(fs::exists("-"));
  EXPECT_EQ(run_squish("eval" + m + " --predictions /dev/null").exit_code, 0);
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
  const RunResult dir_as_file = run_squish("eval" + m + " --output " + quote(dir));
  EXPECT_EQ(dir_as_file.exit_code, 3);
  for (const std::string& cmd : {"eval" + m, "inspect --model_dir " + quote(tiny_model()),
                                 "bench --config " + quote(test::fixtures_dir() + "/tiny_bert/config.json") + " --runs 1 --seq 8",
                                 "tokenize --model_dir " + quote(tiny_model())}) {
    const std::string full = quote(test::squish_binary()) + " " + cmd + " < " + quote(dir + "/in.jsonl") + " > /dev/full 2> " +
                             quote(dir + "/err");
    std::ofstream(dir + "/in.jsonl") << "{\"text\": \"hi\"}\n";
    const int status = std::system(full.c_str());
    EXPECT_EQ(WEXITSTATUS(status), 3) << cmd << ": " << read_file(dir + "/err");
    EXPECT_NE(read_file(dir + "/err").find("stdout"), std::string::npos) << cmd;
  }
  fs::remove_all(dir);
}

// Where a user is about to be misled: warned on stderr, and the warnings are in the JSON.
TEST(Cli, EvalWarnsAboutTruncationMismatchedTasksAndUnusedWeights) {
  const std::string out = test::temp_dir("warn");
  const RunResult imdb = run_squish("eval --model_dir " + quote(tiny_model()) + " --task imdb --split test --max_samples 40 --data_dir " +
                                    quote(data_dir()) + " --output " + quote(out + "/r.json"));
  ASSERT_EQ(imdb.exit_code, 0) << imdb.err;
  EXPECT_NE(imdb.err.find("squish: warning: "), std::string::npos) << imdb.err;
  EXPECT_NE(imdb.err.find("were longer than --max_length 128 and were truncated"), std::string::npos) << imdb.err;
  const auto j = nlohmann::json::parse(read_file(out + "/r.json"));
  EXPECT_GT(j["data"]["truncated_examples"].get<int64_t>(), 0);
  ASSERT_GE(j["warnings"].size(), 1u);
  EXPECT_NE(j["warnings"].back().get<std::string>().find("truncated"), std::string::npos) << j["warnings"];
  // A config saying 1 layer over weights holding 2, and a model fine-tuned on SST-2 run on MRPC.
  auto config = nlohmann::json::parse(read_file(tiny_model() + "/config.json"));
  config["num_hidden_layers"] = 1;
  config["finetuning_task"] = "sst-2";
  const std::string dir = model_dir_with("model.safetensors", read_file(tiny_model() + "/model.safetensors"), config.dump());
  const RunResult r = run_squish("eval --model_dir " + quote(dir) + " --task mrpc --max_samples 4 --data_dir " + quote(data_dir()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("tensors the model does not use (e.g. bert.encoder.layer.1."), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("num_hidden_layers=1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("fine-tuned for 'sst-2'"), std::string::npos) << r.err;
  const RunResult same_task = run_squish("eval --model_dir " + quote(dir) + " --task sst2 --max_samples 4 --data_dir " + quote(data_dir()));
  EXPECT_EQ(same_task.err.find("fine-tuned for"), std::string::npos) << same_task.err;
  fs::remove_all(dir);
  fs::remove_all(out);
}

TEST(Cli, EncodersAndWeightlessDirectoriesAreInspectedAndBenchmarked) {
  // An all-MiniLM-style encoder: the tiny fixture without its classifier, pooler kept, no "bert." prefix.
  const std::string enc = test::temp_dir("encoder");
  auto config = nlohmann::json::parse(read_file(test::fixtures_dir() + "/tiny_bert/config.json"));
  config["architectures"] = {"BertModel"};
  std::ofstream(enc + "/config.json") << config.dump();
  std::vector<TensorToWrite> tensors;
  for (const auto& [name, t] : read_safetensors(test::fixtures_dir() + "/tiny_bert/model.safetensors"))
    if (name.rfind("classifier.", 0) != 0)
      tensors.push_back({name.substr(5), t.dtype, t.shape, std::string(static_cast<const char*>(t.data), t.nbytes)});
  write_safetensors(enc + "/model.safetensors", tensors, {{"format", "pt"}});
  const RunResult enc_inspect = run_squish("inspect --json --model_dir " + quote(enc));
  ASSERT_EQ(enc_inspect.exit_code, 0) << enc_inspect.err;
  const auto e = nlohmann::json::parse(enc_inspect.out);
  EXPECT_EQ(e["unused_tensors"].size(), 0u);
  EXPECT_EQ(e["parameter_groups"]["pooler"], 24 * 24 + 24);  // counted, not called unused
  EXPECT_EQ(e["num_labels"], 0);
  const RunResult bench = run_squish("bench --model_dir " + quote(enc) + " --batch 2 --seq 8 --runs 2");
  EXPECT_EQ(bench.exit_code, 0) << bench.err;
  EXPECT_NE(bench.out.find("(random classification head)"), std::string::npos) << bench.out;
  fs::remove_all(enc);
  // A tokenizer-and-config directory: sizes from config.json alone.
  const RunResult inspect = run_squish("inspect --json --model_dir " + quote(test::shared_dir() + "/models/bert-base-uncased-vocab"));
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  const auto j = nlohmann::json::parse(inspect.out);
  // BertForMaskedLM's embeddings and encoder (transformers gives it no pooler; its MLM head is not counted).
  EXPECT_EQ(j["parameters"], 108891648);
  EXPECT_FALSE(j["has_classifier"].get<bool>());
  EXPECT_EQ(j["num_labels"], 0);
  const RunResult text = run_squish("inspect --model_dir " + quote(test::shared_dir() + "/models/bert-base-uncased-vocab"));
  EXPECT_NE(text.out.find("no classification head"), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find("labels="), std::string::npos) << text.out;
}

TEST(Cli, MalformedDatasetNamesFileAndLine) {
  const std::string dir = test::temp_dir("data");
  fs::create_directories(dir + "/glue/sst2");
  std::ofstream(dir + "/glue/sst2/dev.tsv") << "sentence\tlabel\ngood film\t1\nbad row without label\n";
  const RunResult r = run_squish("eval --model_dir " + quote(tiny_model()) + " --task sst2 --data_dir " + quote(dir));
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("dev.tsv:3"), std::string::npos) << r.err;
  const RunResult missing = run_squish("eval --model_dir " + quote(tiny_model()) + " --task mrpc --data_dir " + quote(dir));
  EXPECT_EQ(missing.exit_code, 3) << missing.err;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace squish
