// The same commands under mpirun as in one process: 2 ranks, and 3 on this machine's 2 cores
// (oversubscribed), on the shared tiny model, MiniLM and SmolLM2. Predictions, metrics and saved
// models are compared byte for byte with a one-process run; only timings and the host block differ.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_runner.h"
#include "core/file_util.h"
#include "io/safetensors.h"

namespace squish {
namespace {

using test::data_dir;
using test::quote;
using test::run_command;
using test::run_squish;
using test::RunResult;
using test::tiny_model;
using ::testing::HasSubstr;

class Mpi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Containers run tests as root; more ranks than cores need oversubscription (Open MPI's variables).
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    ::setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
  }
};

std::string mpirun(int ranks) { return std::string(SQUISH_MPIEXEC) + " -np " + std::to_string(ranks) + " "; }

RunResult squish_on(int ranks, const std::string& args) {
  return run_command(mpirun(ranks) + quote(test::squish_binary()) + " " + args);
}

std::string minilm(const std::string& task) { return test::shared_dir() + "/models/minilm-l6-" + task; }

std::string smollm2() {
  const std::string path = test::smollm2_gguf();
  if (!file_exists(path)) ADD_FAILURE() << path << ": run `bash tools/fetch_smollm2.sh` (or set SQUISH_SMOLLM2_GGUF)";
  return path;
}

// A results document without what legitimately changes from run to run.
nlohmann::json without_run_facts(const std::string& path) {
  nlohmann::json j = nlohmann::json::parse(read_file(path));
  for (const char* key : {"created_utc", "host", "timing"}) j.erase(key);
  return j;
}

// `args` (which write --predictions to PRED and --output to OUT) in one process and on each rank count:
// the predictions byte for byte, the results but for timings.
void expect_same_as_one_process(const std::string& args, std::initializer_list<int> rank_counts) {
  const std::string dir = test::temp_dir("mpi_same");
  auto with_files = [&](const std::string& tag) {
    std::string a = args;
    for (auto [from, to] : {std::pair{"PRED", "/" + tag + ".jsonl"}, std::pair{"OUT", "/" + tag + ".json"}})
      if (const size_t at = a.find(from); at != std::string::npos) a.replace(at, 4, quote(dir + to));
    return a;
  };
  const RunResult one = run_squish(with_files("one"));
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const std::string predictions = read_file(dir + "/one.jsonl");
  ASSERT_FALSE(predictions.empty());
  for (int ranks : rank_counts) {
    const std::string tag = "ranks" + std::to_string(ranks);
    const RunResult many = squish_on(ranks, with_files(tag));
    ASSERT_EQ(many.exit_code, 0) << many.err;
    // stdout is rank 0's alone: the summary once, as long as one process's (its timings differ).
    EXPECT_EQ(std::count(many.out.begin(), many.out.end(), '\n'), std::count(one.out.begin(), one.out.end(), '\n'))
        << many.out;
    EXPECT_EQ(many.out.substr(0, 9), one.out.substr(0, 9));
    EXPECT_EQ(read_file(dir + "/" + tag + ".jsonl"), predictions) << ranks << " ranks";
    nlohmann::json results = without_run_facts(dir + "/" + tag + ".json");
    EXPECT_EQ(results, without_run_facts(dir + "/one.json")) << ranks << " ranks";
    EXPECT_EQ(nlohmann::json::parse(read_file(dir + "/" + tag + ".json"))["host"]["processes"], ranks);
  }
}

TEST_F(Mpi, ClassifierEvalIsByteIdenticalWithABatchSizeNoRankCountDivides) {
  expect_same_as_one_process("eval --task sst2 --batch_size 7 --model_dir " + quote(tiny_model()) + " --data_dir " +
                                 quote(data_dir()) + " --predictions PRED --output OUT",
                             {2, 3});
  expect_same_as_one_process("eval --task mrpc --max_samples 60 --batch_size 8 --model_dir " + quote(minilm("mrpc")) +
                                 " --data_dir " + quote(data_dir()) + " --predictions PRED --output OUT",
                             {2});
}

TEST_F(Mpi, FewerExamplesThanRanksLeavesARankWithoutBatches) {
  expect_same_as_one_process("eval --task sst2 --max_samples 2 --batch_size 1 --model_dir " + quote(tiny_model()) +
                                 " --data_dir " + quote(data_dir()) + " --predictions PRED --output OUT",
                             {3});
}

TEST_F(Mpi, HellaswagAndPerplexityOfSmolLM2AreByteIdentical) {
  expect_same_as_one_process("eval --task hellaswag --max_samples 6 --batch_size 2 --model_dir " + quote(smollm2()) +
                                 " --data_dir " + quote(data_dir()) + " --predictions PRED --output OUT",
                             {3});
  const std::string corpus = test::temp_dir("mpi_corpus") + "/texts.jsonl";
  write_file_atomic(corpus, R"({"text": "The film opens on a quiet street, and for an hour nothing happens."}
{"text": "I would not watch it again. The plot is thin and the acting is worse."}
{"text": "A small, warm story about two brothers who run a bakery in a town that does not need one."}
)");
  expect_same_as_one_process("perplexity --max_length 16 --stride 8 --batch_size 2 --model_dir " + quote(smollm2()) +
                                 " --data_file " + quote(corpus) + " --predictions PRED --output OUT",
                             {2});
}

TEST_F(Mpi, StaticCalibrationSavesTheSameModelForEveryObserver) {
  // Histograms merge exactly (power-of-two ranges), the moving average replays the global batch order.
  for (const char* observer : {"moving_average", "entropy", "percentile"}) {
    const std::string dir = test::temp_dir("mpi_calibrate");
    const std::string args = std::string("quantize --task sst2 --calib_size 40 --calib_batch_size 6 --observer ") +
                             observer + " --model_dir " + quote(tiny_model()) + " --data_dir " + quote(data_dir()) +
                             " --output_dir ";
    const RunResult one = run_squish(args + quote(dir + "/one") + " --threads 1");
    ASSERT_EQ(one.exit_code, 0) << one.err;
    const RunResult three = squish_on(3, args + quote(dir + "/three"));
    ASSERT_EQ(three.exit_code, 0) << three.err;
    EXPECT_EQ(read_file(dir + "/three/model.safetensors"), read_file(dir + "/one/model.safetensors")) << observer;
    int entries = 0;  // no rank's staging left behind
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++entries;
    EXPECT_EQ(entries, 2) << observer;
  }
}

// GPTQ's Hessians are merged layer by layer: ranks' sums add in rank order, not one process's batch
// order (~1e-16 relative in H), far below what moves a code or a float32 scale: the saved model is the
// same file.
TEST_F(Mpi, GptqRoundsEveryLayerAsOneProcessDoes) {
  const std::string dir = test::temp_dir("mpi_gptq");
  const std::string common = " --task sst2 --model_dir " + quote(tiny_model()) + " --data_dir " + quote(data_dir());
  ASSERT_EQ(run_squish("sensitivity" + common + " --calib_size 48 --max_length 48 --bits 4 8 --output_dir " +
                       quote(dir + "/s"))
                .exit_code,
            0);
  ASSERT_EQ(run_squish("allocate --method uniform --uniform_bits 4 --sensitivity " +
                       quote(dir + "/s/sensitivity.json") + " --output " + quote(dir + "/plan.json"))
                .exit_code,
            0);
  const std::string quantize = "quantize" + common + " --plan " + quote(dir + "/plan.json") +
                               " --rounding gptq --calib_size 64 --calib_batch_size 8";
  const RunResult one = run_squish(quantize + " --output_dir " + quote(dir + "/one"));
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const RunResult three = squish_on(3, quantize + " --output_dir " + quote(dir + "/three"));
  ASSERT_EQ(three.exit_code, 0) << three.err;
  EXPECT_EQ(read_file(dir + "/three/model.safetensors"), read_file(dir + "/one/model.safetensors"));
}

// The largest difference between two fp32 model files' weights, tensor by tensor (same names, sizes).
double largest_difference(const std::string& file, const std::string& reference_file) {
  const TensorMap reference = read_safetensors(reference_file);
  double largest = 0;
  for (const auto& [name, t] : read_safetensors(file)) {
    const RawTensor& r = reference.at(name);
    EXPECT_EQ(t.nbytes, r.nbytes) << name;
    if (t.nbytes != r.nbytes) return INFINITY;
    const auto* a = static_cast<const float*>(t.data);
    const auto* b = static_cast<const float*>(r.data);
    for (size_t i = 0; i < t.nbytes / sizeof(float); ++i) largest = std::max(largest, std::fabs(double(a[i]) - b[i]));
  }
  return largest;
}

// Training splits each step's batch into consecutive shares, sums the ranks' gradients and keys
// dropout by sequence and position, so 2 and 3 ranks train what one process trains (dropout on), to
// float rounding: the batches' GEMMs have other shapes. Issue 19's bound: 1e-5 after 20 steps.
TEST_F(Mpi, TrainingOnRanksFollowsOneProcessWithinTolerance) {
  const std::string dir = test::temp_dir("mpi_train");
  const std::string args =
      "train --task sst2 --max_train_samples 300 --batch_size 16 --max_steps 20 "
      "--max_eval_samples 64 --eval_steps 10 --model_dir " +
      quote(tiny_model()) + " --data_dir " + quote(data_dir()) + " --output_dir ";
  const RunResult one = run_squish(args + quote(dir + "/one"));
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const nlohmann::json one_log = nlohmann::json::parse(read_file(dir + "/one/training.json"));
  ASSERT_EQ(one_log["steps"].size(), 20u);
  for (int ranks : {2, 3}) {
    const std::string out = dir + "/ranks" + std::to_string(ranks);
    const RunResult many = squish_on(ranks, args + quote(out));
    ASSERT_EQ(many.exit_code, 0) << many.err;
    const nlohmann::json log = nlohmann::json::parse(read_file(out + "/training.json"));
    ASSERT_EQ(log["steps"].size(), 20u);
    for (size_t i = 0; i < 20; ++i)
      EXPECT_NEAR(log["steps"][i]["loss"].get<double>(), one_log["steps"][i]["loss"].get<double>(), 1e-5)
          << ranks << " ranks, step " << i + 1;
    EXPECT_LT(largest_difference(out + "/model.safetensors", dir + "/one/model.safetensors"), 1e-5)
        << ranks << " ranks";
  }
}

// Pruning fine-tunes through the same trainer, scores structures on batches dealt round robin (each
// batch's scores added in batch order) and prunes on parameters every rank holds alike: the masks,
// the kept heads and every stage's dev metric are one process's, the weights within the training bound.
TEST_F(Mpi, PruningOnRanksFollowsOneProcess) {
  const std::string dir = test::temp_dir("mpi_prune");
  const std::string common = "prune --task sst2 --max_train_samples 160 --batch_size 16 --max_eval_samples 64 " +
                             ("--model_dir " + quote(tiny_model())) + " --data_dir " + quote(data_dir()) + " ";
  const std::string imp = "--method imp --num_rounds 2 --sparsity 0.5";
  const std::string heads = "--structure heads --importance first_order --importance_samples 100 --sparsity 0.5";
  struct Case {
    std::string name, flags;
    int ranks;
  };
  for (const Case& c : {Case{"imp", imp, 2}, Case{"heads", heads, 3}}) {
    const RunResult one = run_squish(common + c.flags + " --output_dir " + quote(dir + "/one_" + c.name));
    ASSERT_EQ(one.exit_code, 0) << one.err;
    const std::string out = dir + "/" + c.name + std::to_string(c.ranks);
    const RunResult many = squish_on(c.ranks, common + c.flags + " --output_dir " + quote(out));
    ASSERT_EQ(many.exit_code, 0) << many.err;
    EXPECT_EQ(many.out.substr(0, 5), "stage") << many.out;  // rank 0's table, once
    nlohmann::json a = nlohmann::json::parse(read_file(dir + "/one_" + c.name + "/pruning.json"));
    nlohmann::json b = nlohmann::json::parse(read_file(out + "/pruning.json"));
    ASSERT_EQ(a["stages"].size(), b["stages"].size()) << c.name;
    for (size_t i = 0; i < a["stages"].size(); ++i) {
      EXPECT_EQ(b["stages"][i]["dev"]["value"], a["stages"][i]["dev"]["value"]) << c.name << " stage " << i;
      EXPECT_EQ(b["stages"][i]["sparsity"], a["stages"][i]["sparsity"]) << c.name << " stage " << i;
    }
    EXPECT_EQ(b["structured"]["layer_heads"], a["structured"]["layer_heads"]) << c.name;
    EXPECT_EQ(b["sizes"], a["sizes"]) << c.name;
    EXPECT_EQ(b["host"]["processes"], c.ranks);
    const std::string weights = "/dense/model.safetensors";  // pruned weights are zeros there
    EXPECT_LT(largest_difference(out + weights, dir + "/one_" + c.name + weights), 1e-5) << c.name;
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir))  // no rank's staging left behind
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
}

// Without the run's timings (seconds, and ratios of wall times), anywhere in a document.
void erase_seconds(nlohmann::json& j) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end();)
      if (it.key().find("seconds") != std::string::npos || it.key().find("wall") != std::string::npos)
        it = j.erase(it);
      else erase_seconds(*it++);
  } else if (j.is_array()) {
    for (auto& e : j) erase_seconds(e);
  }
}

// Each unit is measured whole on one rank. Eigen blocks its covariance products by the thread count, so
// PWCCA moves by up to 3.4e-10 between 1 and 2 threads in one process too: the one-process run here
// uses one thread, as each rank does, and every number must be the same bit for bit.
TEST_F(Mpi, SensitivityDealsUnitsToRanksAndMeasuresEachAsOneProcessDoes) {
  for (const char* granularity : {"layer --method pwcca", "linear --method cka"}) {
    const std::string dir = test::temp_dir("mpi_sensitivity");
    const std::string args = std::string("sensitivity --task sst2 --calib_size 48 --max_length 48 --bits 2 4 8 ") +
                             "--granularity " + granularity + " --model_dir " + quote(tiny_model()) + " --data_dir " +
                             quote(data_dir()) + " --output_dir ";
    const RunResult one = run_squish(args + quote(dir + "/one") + " --threads 1");
    ASSERT_EQ(one.exit_code, 0) << one.err;
    const RunResult three = squish_on(3, args + quote(dir + "/three"));
    ASSERT_EQ(three.exit_code, 0) << three.err;
    nlohmann::json a = nlohmann::json::parse(read_file(dir + "/one/sensitivity.json"));
    nlohmann::json b = nlohmann::json::parse(read_file(dir + "/three/sensitivity.json"));
    ASSERT_GE(a["units"].size(), 3u);
    for (nlohmann::json* j : {&a, &b}) {
      for (const char* key : {"created_utc", "host"}) j->erase(key);
      erase_seconds(*j);
    }
    EXPECT_EQ(b, a) << granularity;
  }
}

// Every rank fails the same way: one message (rank 0's), the command's exit code, in seconds.
TEST_F(Mpi, AnErrorOnEveryRankIsReportedOnceWithItsExitCode) {
  const auto start = std::chrono::steady_clock::now();
  const RunResult missing = squish_on(3, "eval --task sst2 --model_dir /no/such/model");
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_THAT(missing.err, HasSubstr("squish: [rank 0 of 3] error: /no/such/model"));
  EXPECT_EQ(missing.err.find("[rank 1 of 3]"), std::string::npos) << missing.err;
  EXPECT_EQ(missing.err.find("[rank 2 of 3]"), std::string::npos) << missing.err;
  const RunResult bad_flag = squish_on(2, "eval --task sst2 --bogus 1 --model_dir " + quote(tiny_model()));
  EXPECT_EQ(bad_flag.exit_code, 2);
  EXPECT_THAT(bad_flag.err, HasSubstr("[rank 0 of 2] error: eval: unknown flag --bogus"));
  // Timing on shared cores measures contention: refused rather than redone on every rank.
  const RunResult bench = squish_on(2, "bench --model_dir " + quote(tiny_model()));
  EXPECT_EQ(bench.exit_code, 2);
  EXPECT_THAT(bench.err, HasSubstr("[rank 0 of 2] error: bench runs as one process"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// One rank fails while the others wait in a collective it will never join, or dies outright: every
// rank ends within seconds, non-zero.
TEST_F(Mpi, AFailingOrDyingRankEndsEveryRank) {
  const std::string squish = quote(test::squish_binary());
  const std::string good = squish + " eval --task imdb --max_samples 400 --model_dir " + quote(minilm("imdb")) +
                           " --data_dir " + quote(data_dir()) + " --output /dev/null";
  auto on_rank_1 = [&](const std::string& command) {
    return mpirun(2) + "sh -c " +
           quote("if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then " + command + "; else exec " + good + "; fi");
  };
  auto start = std::chrono::steady_clock::now();
  const RunResult failing = run_command(on_rank_1("exec " + squish + " eval --task sst2 --model_dir /no/such/model"));
  EXPECT_EQ(failing.exit_code, 3) << failing.err;
  EXPECT_THAT(failing.err, HasSubstr("[rank 1 of 2] error: /no/such/model"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));

  start = std::chrono::steady_clock::now();
  const RunResult dying = run_command(on_rank_1("(sleep 1; kill -9 $$) & exec " + good));
  EXPECT_NE(dying.exit_code, 0) << dying.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8));
}

}  // namespace
}  // namespace squish
