// squish sensitivity, allocate, quantize --plan and mixed-precision end to end on the real tiny
// model: run folders every later command reads, plans that keep to their budget, saved models that
// are as small as the plan says and that eval reads back, and clear errors for bad requests.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "core/file_util.h"
#include "test_paths.h"

namespace squish {
namespace {

namespace fs = std::filesystem;
using test::data_dir;
using test::quote;
using test::run_squish;
using test::RunResult;
using test::tiny_model;

nlohmann::json json_file(const std::string& path) { return nlohmann::json::parse(read_file(path)); }

TEST(CliMixedPrecision, OneCommandWritesTheStudysRunFolder) {
  const std::string out = test::temp_dir("mixed") + "/run";
  const RunResult r = run_squish("mixed-precision --model_dir " + quote(tiny_model()) + " --task sst2 --data_dir " +
                                 quote(data_dir()) + " --calib_size 64 --max_length 64 --max_samples 96 --max_tokens 600" +
                                 " --allocation budget --target_compression 6 --output_dir " + quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* f : {"sensitivity.json", "sensitivity.log", "plan.json", "results.json", "model/model.safetensors",
                        "model/quantization.json", "model/config.json", "model/vocab.txt"})
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  const auto s = json_file(out + "/sensitivity.json");
  EXPECT_EQ(s["schema"], "squish.sensitivity");
  EXPECT_EQ(s["options"]["method"], "pwcca");
  EXPECT_EQ(s["calibration"]["split"], "train");
  EXPECT_EQ(s["units"].size(), 3u);  // two layers and the embeddings
  for (const auto& u : s["units"]) {
    ASSERT_EQ(u["widths"].size(), 4u);
    EXPECT_GT(u["widths"][0]["sensitivity"].get<double>(), u["widths"][2]["sensitivity"].get<double>()) << u["name"];
  }
  const auto results = json_file(out + "/results.json");
  EXPECT_EQ(results["schema"], "squish.mixed_precision");
  EXPECT_EQ(results["fp32"]["examples"], 96);
  const int64_t budget = json_file(out + "/plan.json")["allocation"]["budget"]["budget_bytes"];
  const int64_t file_bytes = results["quantized"]["file_bytes"];
  EXPECT_LE(file_bytes, budget);  // the plan's size target holds on disk
  EXPECT_EQ(file_bytes, static_cast<int64_t>(fs::file_size(out + "/model/model.safetensors")));
  EXPECT_GE(results["quantized"]["compression_vs_fp32"].get<double>(), 6.0);
  EXPECT_NE(r.out.find("mixed precision: bert-tiny-sst2-scratch"), std::string::npos) << r.out;
  // The saved model is an ordinary squish model directory.
  const RunResult eval = run_squish("eval --model_dir " + quote(out + "/model") + " --task sst2 --data_dir " +
                                    quote(data_dir()) + " --max_samples 96 --max_length 64 --output -");
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  const auto e = nlohmann::json::parse(eval.out);
  EXPECT_EQ(e["task_metric"]["value"], results["quantized"]["metric"]["value"]);
  EXPECT_EQ(e["model"]["average_bits"], results["quantized"]["average_bits"]);
}

// k-means and percentile rank units against each other: unless --compare says otherwise, mixed-precision
// measures them at the last layer's [CLS] rows (one a calibration sequence), the budget method at each
// layer's own output (above). --attention int8 reaches the saved model.
TEST(CliMixedPrecision, RelativeAllocationsMeasureAtTheFinalRepresentation) {
  const std::string out = test::temp_dir("mixed_kmeans") + "/run";
  const RunResult r = run_squish("mixed-precision --model_dir " + quote(tiny_model()) + " --task sst2 --data_dir " +
                                 quote(data_dir()) + " --calib_size 160 --max_length 32 --max_samples 32 --bits 2 8" +
                                 " --allocation kmeans --attention int8 --output_dir " + quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto s = json_file(out + "/sensitivity.json");
  EXPECT_EQ(s["options"]["compare"], "final");
  EXPECT_EQ(s["timing"]["compared_rows"], 160);
  EXPECT_EQ(json_file(out + "/plan.json")["allocation"]["kmeans"]["cluster_on"], "log_profile");
  EXPECT_EQ(json_file(out + "/results.json")["request"]["attention"], "int8");
  EXPECT_EQ(json_file(out + "/model/quantization.json")["scheme"]["attention"], "int8");
  const RunResult inspect = run_squish("inspect --model_dir " + quote(out + "/model"));
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_NE(inspect.out.find("attention     int8"), std::string::npos) << inspect.out;
}

TEST(CliMixedPrecision, StepByStepWithGptqAndEveryAllocation) {
  const std::string dir = test::temp_dir("steps");
  const RunResult s = run_squish("sensitivity --model_dir " + quote(tiny_model()) + " --task sst2 --data_dir " +
                                 quote(data_dir()) + " --calib_size 64 --max_length 64 --method cka --bits 2 4 8" +
                                 " --granularity linear --output_dir " + quote(dir + "/s"));
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_NE(s.out.find("encoder.layer.1.output.dense"), std::string::npos) << s.out;
  const std::string sensitivity = quote(dir + "/s/sensitivity.json");
  for (const std::string method : {"kmeans", "percentile", "budget --target_avg_bits 5", "uniform --uniform_bits 4"}) {
    const RunResult a = run_squish("allocate --sensitivity " + sensitivity + " --method " + method + " --output " +
                                   quote(dir + "/plan.json"));
    ASSERT_EQ(a.exit_code, 0) << method << ": " << a.err;
    const auto plan = json_file(dir + "/plan.json");
    EXPECT_EQ(plan["squish"], "bit-plan");
    EXPECT_EQ(plan["linears"].size(), 8u) << method;  // every encoder Linear of the two layers
  }
  // k-means clusters the score, its log or every width's log (plan.json says which); only k-means does.
  for (const std::string space : {"score", "log_score", "log_profile"}) {
    const RunResult a = run_squish("allocate --sensitivity " + sensitivity + " --method kmeans --cluster_on " + space +
                                   " --output " + quote(dir + "/kmeans.json"));
    ASSERT_EQ(a.exit_code, 0) << space << ": " << a.err;
    const auto kmeans = json_file(dir + "/kmeans.json")["allocation"]["kmeans"];
    EXPECT_EQ(kmeans["cluster_on"], space);
    EXPECT_EQ(kmeans["centroids"][0].size(), space == "log_profile" ? 3u : 1u) << space;  // --bits 2 4 8
  }
  const RunResult one_width = run_squish("allocate --sensitivity " + sensitivity +
                                         " --method kmeans --score_bits 4 --output " + quote(dir + "/one_width.json"));
  EXPECT_EQ(one_width.exit_code, 2);
  EXPECT_NE(one_width.err.find("--cluster_on log_profile clusters on every width"), std::string::npos) << one_width.err;
  const RunResult stray =
      run_squish("allocate --sensitivity " + sensitivity +
                 " --method budget --target_avg_bits 5 --cluster_on log_score --output " + quote(dir + "/stray.json"));
  EXPECT_EQ(stray.exit_code, 2);
  EXPECT_NE(stray.err.find("--cluster_on goes with --allocation kmeans"), std::string::npos) << stray.err;
  // The embeddings pinned at 8 bits (--embeddings_bits), the Linears allocated without them: uniform
  // 2 bits then weighs what it weighs with 2-bit embeddings, less their 2-bit bytes, plus their 8-bit ones.
  for (const std::string pin : {"", " --embeddings_bits 8"}) {
    const RunResult a =
        run_squish("allocate --sensitivity " + sensitivity + " --method uniform --uniform_bits 2" + pin + " --output " +
                   quote(dir + "/uniform2" + (pin.empty() ? "" : "_pinned") + ".json"));
    ASSERT_EQ(a.exit_code, 0) << pin << ": " << a.err;
  }
  const auto unpinned = json_file(dir + "/uniform2.json"), pinned = json_file(dir + "/uniform2_pinned.json");
  EXPECT_EQ(pinned["embeddings"], "int8-rows");
  EXPECT_EQ(pinned["allocation"]["embeddings_pinned"]["format"], "int8-rows");
  for (const auto& [name, format] : pinned["linears"].items()) EXPECT_EQ(format, "int2-g64") << name;
  EXPECT_EQ(pinned["units"].size(), 8u);  // the Linears alone were allocated
  const auto measured = json_file(dir + "/s/sensitivity.json")["units"].back();
  ASSERT_EQ(measured["name"], "embeddings");
  EXPECT_EQ(pinned["expected"]["total_bytes"].get<int64_t>(), unpinned["expected"]["total_bytes"].get<int64_t>() -
                                                                  measured["widths"][0]["bytes"].get<int64_t>() +
                                                                  measured["widths"][2]["bytes"].get<int64_t>());
  const RunResult unmeasured =
      run_squish("allocate --sensitivity " + sensitivity + " --method kmeans --embeddings_bits 16" + " --output " +
                 quote(dir + "/p5.json"));
  EXPECT_EQ(unmeasured.exit_code, 2);
  EXPECT_NE(unmeasured.err.find("--embeddings_bits 16: not among the measured widths (--bits 2 4 8)"),
            std::string::npos)
      << unmeasured.err;
  const RunResult q = run_squish("quantize --model_dir " + quote(tiny_model()) + " --task sst2 --data_dir " +
                                 quote(data_dir()) + " --plan " + quote(dir + "/plan.json") +
                                 " --rounding gptq --calib_size 32 --output_dir " + quote(dir + "/q"));
  ASSERT_EQ(q.exit_code, 0) << q.err;
  const auto quantization = json_file(dir + "/q/quantization.json");
  EXPECT_EQ(quantization["mode"], "plan");
  EXPECT_EQ(quantization["scheme"]["rounding"], "gptq");
  EXPECT_EQ(quantization["scheme"]["formats"]["int4-g64"], 8);
  EXPECT_EQ(quantization["scheme"]["word_embeddings"], "int4-g64");
  // Requests that cannot be met are refused before any work.
  const RunResult tight = run_squish("allocate --sensitivity " + sensitivity +
                                     " --method budget --target_size_mb 0.5 --output " + quote(dir + "/p2.json"));
  EXPECT_EQ(tight.exit_code, 2);
  EXPECT_NE(tight.err.find("smallest"), std::string::npos) << tight.err;
  EXPECT_EQ(run_squish("allocate --sensitivity " + sensitivity + " --method budget --output " + quote(dir + "/p3.json"))
                .exit_code,
            2);
  EXPECT_EQ(run_squish("quantize --model_dir " + quote(tiny_model()) + " --task sst2 --plan " +
                       quote(dir + "/plan.json") + " --mode static --output_dir " + quote(dir + "/q2"))
                .exit_code,
            2);
  const RunResult leak = run_squish("mixed-precision --model_dir " + quote(tiny_model()) + " --task sst2 --data_dir " +
                                    quote(data_dir()) + " --calib_split dev --output_dir " + quote(dir + "/m"));
  EXPECT_EQ(leak.exit_code, 2);
  EXPECT_NE(leak.err.find("--calib_split dev is the split sst2 is evaluated on"), std::string::npos) << leak.err;
  EXPECT_FALSE(fs::exists(dir + "/m"));
  const RunResult broken = run_squish("allocate --sensitivity " + quote(dir + "/plan.json") + " --output " +
                                      quote(dir + "/p4.json"));
  EXPECT_EQ(broken.exit_code, 4);
  EXPECT_NE(broken.err.find("not a squish sensitivity file"), std::string::npos) << broken.err;
}

}  // namespace
}  // namespace squish
