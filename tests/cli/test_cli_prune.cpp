// `squish prune` end to end on the real-vocabulary tiny model with small subsets: one-shot and IMP
// reach their schedule's sparsity to the weight (in pruning.json and in the saved weights), dense/
// and sparse/ predict identically and sparse/ is smaller; structured heads/neurons shrink the
// config's per-layer sizes; combinations that make no sense are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "core/file_util.h"
#include "io/safetensors.h"
#include "test_paths.h"

namespace squish {
namespace {

namespace fs = std::filesystem;
using test::data_dir;
using test::quote;
using test::run_squish;
using test::RunResult;
using test::tiny_model;

std::string prune_args(const std::string& out, const std::string& method) {
  return "prune --model_dir " + quote(tiny_model()) + " --task sst2 --data_dir " + quote(data_dir()) + " --output_dir " +
         quote(out) + " --max_train_samples 64 --max_eval_samples 64 --batch_size 32 --threads 1 " + method;
}

// Zeros and size of the encoder's Linear weights in a HF model file: what global magnitude pruning
// touches by default, counted from the saved bytes rather than from the pipeline's own mask.
std::pair<int64_t, int64_t> encoder_linear_zeros(const std::string& model_file) {
  int64_t zeros = 0, total = 0;
  for (const auto& [name, t] : read_safetensors(model_file)) {
    if (name.find("encoder.layer.") == std::string::npos || !name.ends_with(".weight") ||
        name.find("LayerNorm") != std::string::npos)
      continue;
    EXPECT_EQ(t.dtype, DType::kF32) << name;
    const auto n = static_cast<int64_t>(t.nbytes / sizeof(float));
    for (int64_t i = 0; i < n; ++i) {
      float v;
      std::memcpy(&v, static_cast<const char*>(t.data) + i * sizeof(float), sizeof v);
      zeros += v == 0.0f;
    }
    total += n;
  }
  return {zeros, total};
}

std::string predictions(const std::string& model_dir, const std::string& file) {
  const RunResult r = run_squish("eval --model_dir " + quote(model_dir) + " --task sst2 --data_dir " + quote(data_dir()) +
                                 " --max_samples 64 --threads 1 --predictions " + quote(file));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return read_file(file);
}

// The checks every unstructured run shares; `rounds` is 1 for one-shot.
void expect_unstructured_run(const std::string& out, int rounds) {
  const auto j = nlohmann::json::parse(read_file(out + "/pruning.json"));
  EXPECT_EQ(j["schema"], "squish.pruning");
  const int64_t total = j["sizes"]["prunable_weights"];
  ASSERT_GT(total, 0);
  int pruned_stages = 0;
  for (const auto& s : j["stages"]) {
    const std::string name = s["name"];
    if (name.find("pruned") == std::string::npos) continue;
    ++pruned_stages;
    const int round = s["round"];
    const double target = 1 - std::pow(1 - 0.5, static_cast<double>(round) / rounds);  // the IMP schedule
    EXPECT_NEAR(s["target_sparsity"].get<double>(), target, 1e-12) << name;
    EXPECT_EQ(s["sparsity"]["total"], total) << name;
    EXPECT_EQ(s["sparsity"]["zeros"], std::llround(target * static_cast<double>(total))) << name;
  }
  EXPECT_EQ(pruned_stages, rounds);
  const auto& final_stage = j["stages"].back();
  EXPECT_EQ(final_stage["sparsity"]["zeros"], total / 2) << final_stage.dump();
  EXPECT_GT(final_stage["train_steps"], 0);
  EXPECT_NEAR(j["final"]["sparsity"].get<double>(), 0.5, 0.5 / static_cast<double>(total));

  const auto [zeros, weights] = encoder_linear_zeros(out + "/dense/model.safetensors");
  EXPECT_EQ(weights, total);
  EXPECT_EQ(zeros, total / 2);  // the mask survived the final fine-tuning and saving

  const std::string scratch = test::temp_dir("prune_eval");
  EXPECT_EQ(predictions(out + "/dense", scratch + "/dense.jsonl"), predictions(out + "/sparse", scratch + "/sparse.jsonl"));
  EXPECT_LT(fs::file_size(out + "/sparse/model.safetensors"), fs::file_size(out + "/dense/model.safetensors"));
  const RunResult inspect = run_squish("inspect --model_dir " + quote(out + "/sparse"));
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_NE(inspect.out.find("8 sparse"), std::string::npos) << inspect.out;  // every encoder Linear
  EXPECT_NE(inspect.out.find("encoder.layer.1.output.dense               sparse"), std::string::npos) << inspect.out;
}

TEST(CliPrune, OneShotReachesTheSparsityToTheWeight) {
  const std::string out = test::temp_dir("prune") + "/oneshot";
  const RunResult r = run_squish(prune_args(out, "--method oneshot --sparsity 0.5"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_unstructured_run(out, 1);
  // The report's sparsity per layer: one series per tensor role, named inside its layer.
  const RunResult page = run_squish("report " + quote(out) + " --output " + quote(out + "/report.html"));
  ASSERT_EQ(page.exit_code, 0) << page.err;
  const std::string html = read_file(out + "/report.html");
  EXPECT_NE(html.find("\"attention.self.qkv\""), std::string::npos);
  EXPECT_NE(html.find("\"intermediate.dense\""), std::string::npos);
  EXPECT_EQ(html.find("\"encoder.layer.0.attention.self.qkv\""), std::string::npos);
}

TEST(CliPrune, ImpFollowsTheGeometricScheduleRoundByRound) {
  const std::string out = test::temp_dir("prune") + "/imp";
  const RunResult r = run_squish(prune_args(out, "--method imp --num_rounds 2 --sparsity 0.5"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_unstructured_run(out, 2);
  // A round's fine-tuning keeps the sparsity the round before it reached.
  const auto j = nlohmann::json::parse(read_file(out + "/pruning.json"));
  int64_t previous_zeros = 0;
  for (const auto& s : j["stages"]) {
    if (!s.contains("sparsity")) continue;
    const std::string name = s["name"];
    if (name.find("fine-tuned") != std::string::npos) {
      EXPECT_EQ(s["sparsity"]["zeros"], previous_zeros) << name;
    }
    previous_zeros = s["sparsity"]["zeros"];
  }
}

// The structured checks: per-layer sizes in config.json, an evaluable model, a timed speed-up.
nlohmann::json expect_structured_run(const std::string& out) {
  const auto config = nlohmann::json::parse(read_file(out + "/dense/config.json"));
  EXPECT_TRUE(config.contains("squish_layer_sizes")) << config.dump();
  const RunResult e = run_squish("eval --model_dir " + quote(out + "/dense") + " --task sst2 --data_dir " +
                                 quote(data_dir()) + " --max_samples 32 --threads 1");
  EXPECT_EQ(e.exit_code, 0) << e.err;
  const auto j = nlohmann::json::parse(read_file(out + "/pruning.json"));
  EXPECT_GT(j["structured"]["speedup"].get<double>(), 0.0);
  EXPECT_LT(j["sizes"]["final_parameters"].get<int64_t>(), j["sizes"]["dense_parameters"].get<int64_t>());
  // The shrunk model is the pruned one; nothing sparse was written or measured, so nothing says 0.
  EXPECT_EQ(j["sizes"]["pruned_file_bytes"].get<int64_t>(),
            static_cast<int64_t>(fs::file_size(out + "/dense/model.safetensors")));
  EXPECT_NEAR(j["sizes"]["compression_vs_fp32"].get<double>(),
              4.0 * j["sizes"]["dense_parameters"].get<double>() / j["sizes"]["pruned_file_bytes"].get<double>(), 1e-9);
  EXPECT_GT(j["sizes"]["compression_vs_fp32"].get<double>(), 1.0);
  EXPECT_FALSE(j["sizes"].contains("sparse_file_bytes")) << j["sizes"].dump();
  EXPECT_FALSE(j["final"].contains("sparsity")) << j["final"].dump();
  const RunResult page = run_squish("report " + quote(out) + " --output " + quote(out + "/report.html"));
  EXPECT_EQ(page.exit_code, 0) << page.err;
  const std::string html = read_file(out + "/report.html");
  EXPECT_EQ(html.find("inf\u00d7"), std::string::npos);
  EXPECT_EQ(html.find("0.00 MB"), std::string::npos);
  EXPECT_EQ(html.find("Sparsity per round"), std::string::npos);  // no flat line of zeros
  EXPECT_NE(html.find("not measured"), std::string::npos);
  // transformers cannot build layers of different sizes: export refuses, saying why.
  const RunResult exported =
      run_squish("export --model_dir " + quote(out + "/dense") + " --output_dir " + quote(out + "/hf"));
  EXPECT_EQ(exported.exit_code, 2) << exported.err;
  EXPECT_NE(exported.err.find("structured pruning left its layers"), std::string::npos) << exported.err;
  EXPECT_FALSE(fs::exists(out + "/hf"));
  return config["squish_layer_sizes"];
}

TEST(CliPrune, NeuronsShrinkTheFeedForwardLayers) {
  const std::string out = test::temp_dir("prune") + "/neurons";
  const RunResult r = run_squish(prune_args(out, "--structure neurons --sparsity 0.5"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json sizes = expect_structured_run(out);
  // 2 layers of 512 neurons: half of the 1024 go, spread over the layers by score, each layer keeping
  // a multiple of 64 so that the 2/4-bit groups divide the FFN output's input width.
  ASSERT_TRUE(sizes.contains("intermediate_size")) << sizes.dump();
  const auto ff = sizes["intermediate_size"].get<std::vector<int64_t>>();
  ASSERT_EQ(ff.size(), 2u);
  EXPECT_NEAR(static_cast<double>(ff[0] + ff[1]), 512.0, 64.0);
  for (int64_t f : ff) {
    EXPECT_LT(f, 512);
    EXPECT_EQ(f % 64, 0) << f;
  }
  // The pruned model goes on through the mixed-precision steps with the default 64-weight groups.
  const RunResult s = run_squish("sensitivity --model_dir " + quote(out + "/dense") + " --task sst2 --data_dir " +
                                 quote(data_dir()) + " --calib_size 256 --max_length 32 --bits 2 4 --threads 1" +
                                 " --output_dir " + quote(out + "/s"));
  EXPECT_EQ(s.exit_code, 0) << s.err;
  EXPECT_FALSE(sizes.contains("num_attention_heads"));  // heads kept whole
}

TEST(CliPrune, HeadsByFirstOrderImportanceLeaveOnePerLayer) {
  const std::string out = test::temp_dir("prune") + "/heads";
  const RunResult r =
      run_squish(prune_args(out, "--structure heads --importance first_order --importance_samples 64 --sparsity 0.5"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json sizes = expect_structured_run(out);
  // 2 layers of 2 heads: round(0.5 · 4) = 2 go, and a layer's last head never does.
  EXPECT_EQ(sizes["num_attention_heads"], (std::vector<int64_t>{1, 1})) << sizes.dump();
  const auto j = nlohmann::json::parse(read_file(out + "/pruning.json"));
  EXPECT_EQ(j["settings"]["importance"], "first_order");
  EXPECT_EQ(j["structured"]["layer_heads"], (std::vector<int64_t>{1, 1}));
}

TEST(CliPrune, StructuredImpIsRefused) {
  const std::string out = test::temp_dir("prune") + "/bad";
  const RunResult r = run_squish(prune_args(out, "--structure heads --method imp"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--structure"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace squish
