// `squish train` end to end on the real-vocabulary tiny model with small subsets: the output folder's
// contents, training.json, the saved model read back by `squish eval`, f16 saving, refusing a
// non-empty output folder, and the flags in --help. Each run is a few seconds at --threads 1.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

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

std::string train_args(const std::string& out) {
  return "train --model_dir " + quote(tiny_model()) + " --task sst2 --data_dir " + quote(data_dir()) +
         " --output_dir " + quote(out) +
         " --max_train_samples 96 --max_eval_samples 64 --max_steps 6 --eval_steps 3 --batch_size 16 --threads 1";
}

std::vector<std::string> checkpoints_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string().starts_with("checkpoint-")) out.push_back(e.path().filename());
  return out;
}

TEST(CliTrain, WritesAModelEvalReadsWithTrainingJsonAndTheNewestCheckpoint) {
  const std::string out = test::temp_dir("train") + "/run";
  const RunResult r = run_squish(train_args(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt", "training.json"})
    EXPECT_TRUE(fs::is_regular_file(out + "/" + f)) << f;
  EXPECT_EQ(checkpoints_in(out), std::vector<std::string>{"checkpoint-6"});
  EXPECT_TRUE(fs::is_regular_file(out + "/checkpoint-6/model.safetensors"));

  const auto j = nlohmann::json::parse(read_file(out + "/training.json"));
  EXPECT_EQ(j["schema"], "squish.training");
  ASSERT_EQ(j["steps"].size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(j["steps"][i]["step"], i + 1);
    EXPECT_TRUE(std::isfinite(j["steps"][i]["loss"].get<double>())) << i;
    EXPECT_GT(j["steps"][i]["loss"].get<double>(), 0.0) << i;
  }
  ASSERT_EQ(j["evaluations"].size(), 2u);
  EXPECT_EQ(j["evaluations"][0]["step"], 3);
  EXPECT_EQ(j["evaluations"][1]["step"], 6);
  EXPECT_EQ(j["saved"]["step"], 6);
  EXPECT_EQ(j["data"]["train_examples"], 96);
  EXPECT_EQ(j["data"]["eval_examples"], 64);
  EXPECT_EQ(j["throughput"]["threads"], 1);

  // The saved model is an ordinary model directory, and its accuracy is the one training.json saved.
  const RunResult e = run_squish("eval --model_dir " + quote(out) + " --task sst2 --data_dir " + quote(data_dir()) +
                                 " --max_samples 64 --threads 1 --output " + quote(out + "/../eval.json"));
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const auto ej = nlohmann::json::parse(read_file(out + "/../eval.json"));
  EXPECT_NEAR(ej["metrics"]["accuracy"].get<double>(), j["saved"]["dev"]["accuracy"].get<double>(), 1e-9) << ej.dump();
}

TEST(CliTrain, SavesF16AtAboutHalfTheSize) {
  const std::string dir = test::temp_dir("train16");
  ASSERT_EQ(run_squish(train_args(dir + "/f32")).exit_code, 0);
  const RunResult r = run_squish(train_args(dir + "/f16") + " --save_dtype f16");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const double ratio = static_cast<double>(fs::file_size(dir + "/f16/model.safetensors")) /
                       static_cast<double>(fs::file_size(dir + "/f32/model.safetensors"));
  EXPECT_GT(ratio, 0.49);
  EXPECT_LT(ratio, 0.51);  // the header is the only part that does not halve
  EXPECT_EQ(run_squish("eval --model_dir " + quote(dir + "/f16") + " --task sst2 --data_dir " + quote(data_dir()) +
                       " --max_samples 16 --threads 1").exit_code, 0);
}

TEST(CliTrain, RefusesANonEmptyOutputDirectoryAndNamesIt) {
  const std::string out = test::temp_dir("train_busy");
  std::ofstream(out + "/keep.txt") << "not squish's";
  const RunResult r = run_squish(train_args(out));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(out), std::string::npos) << r.err;
  EXPECT_EQ(read_file(out + "/keep.txt"), "not squish's");
  EXPECT_FALSE(fs::exists(out + "/training.json"));
}

TEST(CliTrain, HelpListsTheFlags) {
  const RunResult r = run_squish("train --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag : {"--model_dir", "--task", "--output_dir", "--epochs", "--lr", "--batch_size", "--weight_decay",
                           "--warmup_ratio", "--max_grad_norm", "--seed", "--no_dropout", "--max_steps", "--eval_steps",
                           "--max_length", "--max_train_samples", "--max_eval_samples", "--save_dtype",
                           "--load_best_model_at_end", "--threads"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  EXPECT_NE(run_squish("--help").out.find("train"), std::string::npos);
}

// A run stopped at a checkpoint and resumed from it ends where the uninterrupted run ends, bit for bit:
// the checkpoint keeps the fp32 parameters, AdamW's moments and the logged steps; batches, schedule and
// dropout keys follow from the step. Across an epoch boundary (96 examples / 16 = 6 steps an epoch).
TEST(CliTrain, ResumingFromACheckpointEndsWhereTheUninterruptedRunEnds) {
  const std::string dir = test::temp_dir("train_resume");
  const std::string common = "train --model_dir " + quote(tiny_model()) + " --task sst2 --data_dir " +
                             quote(data_dir()) +
                             " --max_train_samples 96 --max_eval_samples 32 --eval_steps 4 --batch_size 16 "
                             "--epochs 2 --threads 1 --output_dir ";
  ASSERT_EQ(run_squish(common + quote(dir + "/whole") + " --max_steps 10").exit_code, 0);
  ASSERT_EQ(run_squish(common + quote(dir + "/first") + " --max_steps 4").exit_code, 0);
  EXPECT_TRUE(file_exists(dir + "/first/checkpoint-4/trainer_state.safetensors"));
  EXPECT_FALSE(file_exists(dir + "/first/trainer_state.safetensors"));  // the top level is the model alone
  const RunResult resumed = run_squish(common + quote(dir + "/resumed") + " --max_steps 10 --resume_from_checkpoint " +
                                       quote(dir + "/first/checkpoint-4"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(read_file(dir + "/resumed/model.safetensors"), read_file(dir + "/whole/model.safetensors"));
  const auto whole = nlohmann::json::parse(read_file(dir + "/whole/training.json"));
  const auto again = nlohmann::json::parse(read_file(dir + "/resumed/training.json"));
  EXPECT_EQ(again["steps"], whole["steps"]);
  ASSERT_EQ(again["evaluations"].size(), whole["evaluations"].size());
  for (size_t i = 0; i < whole["evaluations"].size(); ++i)
    EXPECT_EQ(again["evaluations"][i]["value"], whole["evaluations"][i]["value"]) << i;
  EXPECT_TRUE(fs::exists(dir + "/first/checkpoint-4"));  // the earlier run's folder is left as it was

  // Another recipe, or a folder without the optimizer state, is refused before any output is made.
  const RunResult other_lr = run_squish(common + quote(dir + "/lr") + " --lr 1e-4 --resume_from_checkpoint " +
                                        quote(dir + "/first/checkpoint-4"));
  EXPECT_EQ(other_lr.exit_code, 2);
  EXPECT_NE(other_lr.err.find("trained with lr = 5e-05, this run asks 0.0001"), std::string::npos) << other_lr.err;
  EXPECT_FALSE(fs::exists(dir + "/lr"));
  const RunResult no_state =
      run_squish(common + quote(dir + "/plain") + " --resume_from_checkpoint " + quote(dir + "/whole"));
  EXPECT_EQ(no_state.exit_code, 3);
  EXPECT_NE(no_state.err.find("no trainer_state.safetensors"), std::string::npos) << no_state.err;
}

}  // namespace
}  // namespace squish
