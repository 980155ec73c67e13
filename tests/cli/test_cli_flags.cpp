// One vocabulary of flags: docs/cli.md's table of every command's flags is what `--help` says, both
// ways; the other spellings users bring are accepted; a flag that would do nothing in its
// combination is refused with what it goes with; every command that scores or calibrates warns as
// eval does.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>

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

std::set<std::string> long_flags(const std::string& text) {
  std::set<std::string> flags;
  const std::regex flag("--[a-z][a-z0-9_]*");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), flag); it != std::sregex_iterator(); ++it)
    if (it->str() != "--help") flags.insert(it->str());
  return flags;
}

// The commands `squish --help` lists.
std::vector<std::string> commands() {
  const std::string help = run_squish("--help").out;
  const std::string list = help.substr(help.find("Subcommands:"));
  std::vector<std::string> names;
  const std::regex row("\n  ([a-z][a-z-]+) ");
  for (auto it = std::sregex_iterator(list.begin(), list.end(), row); it != std::sregex_iterator(); ++it)
    names.push_back((*it)[1]);
  return names;
}

// The flags each command's `--help` declares: the option lines' names (aliases included), not the
// flags mentioned in descriptions.
std::set<std::string> declared_flags(const std::string& command) {
  std::istringstream lines(run_squish(command + " --help").out);
  std::set<std::string> flags;
  const std::regex names("^  ((?:-h,)?--[a-z0-9_]+(?:,--[a-z0-9_]+)*)");
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, names))
      for (const std::string& f : long_flags(m[1])) flags.insert(f);
  }
  return flags;
}

TEST(CliFlags, DocsTableIsEveryCommandsHelp) {
  const std::string doc = read_file(test::fixtures_dir() + "/../../docs/cli.md");
  std::map<std::string, std::set<std::string>> table;
  std::istringstream lines(doc.substr(doc.find("### Every command's flags")));
  const std::regex row("^\\| `([a-z-]+)` \\| (.*) \\|$");
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, row)) table[m[1]] = long_flags(m[2]);
  }
  const std::vector<std::string> names = commands();
  ASSERT_GE(names.size(), 16u);
  for (const std::string& command : names) {
    ASSERT_TRUE(table.count(command)) << "docs/cli.md's flags table has no row for " << command;
    EXPECT_EQ(table[command], declared_flags(command)) << command;
  }
  EXPECT_EQ(table.size(), names.size());
}

TEST(CliFlags, OtherToolsSpellingsAreAccepted) {
  const std::string dir = test::temp_dir("flags");
  // HF Trainer's spellings on train; the run is cut short by --max_steps.
  const RunResult train = run_squish(
      "train --model_dir " + quote(tiny_model()) + " --task sst2 --data_dir " + quote(data_dir()) +
      " --max_train_samples 8 --max_eval_samples 8 --max_steps 1 --threads 1 --learning_rate 1e-4 "
      "--num_train_epochs 1 --per_device_train_batch_size 4 --output_dir " + quote(dir + "/t") + " --output -");
  ASSERT_EQ(train.exit_code, 0) << train.err;
  EXPECT_NE(train.out.find("\"lr\": 0.0001"), std::string::npos) << train.out.substr(0, 2000);
  EXPECT_NE(train.out.find("\"batch_size\": 4"), std::string::npos);
  fs::remove_all(dir);
}

TEST(CliFlags, FlagsThatWouldDoNothingAreRefused) {
  const std::string dir = test::temp_dir("flags");
  const std::string model = " --model_dir " + quote(tiny_model()) + " --task sst2 --data_dir " + quote(data_dir()) +
                            " --output_dir " + quote(dir + "/out");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"quantize --mode dynamic --observer percentile", "--observer chooses static activation ranges"},
      {"quantize --mode dynamic --calib_size 100", "--calib_size sets the calibration"},
      {"quantize --mode static --damp 0.1", "--damp is GPTQ's dampening"},
      {"quantize --mode static --holdout_size 10", "--holdout_size sets the fallback"},
      {"quantize --plan p.json --per_tensor", "--per_tensor sets the int8 scheme"},
      {"prune --importance first_order", "--importance scores heads or neurons"},
      {"prune --rewind_step 5", "--rewind_step is iterative magnitude pruning's"},
      {"calib-ablation --observer mse --observers minmax", "--observer is one observer"},
      {"mixed-precision --damp 0.1", "--damp is GPTQ's"},
  };
  for (const auto& [args, message] : cases) {
    const RunResult r = run_squish(args + model);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << "\n" << r.err;
    EXPECT_FALSE(fs::exists(dir + "/out")) << args;
  }
  fs::remove_all(dir);
}

TEST(CliFlags, EveryCommandThatScoresOrCalibratesWarnsAsEvalDoes) {
  const std::string dir = test::temp_dir("flags");
  // An SST-2 model (finetuning_task sst2 in its config) used on MRPC.
  const RunResult q = run_squish("quantize --model_dir " + quote(tiny_model()) + " --task mrpc --data_dir " +
                                 quote(data_dir()) + " --mode static --calib_size 16 --max_length 8 --threads 1" +
                                 " --output_dir " + quote(dir + "/q"));
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_NE(q.err.find("fine-tuned for 'sst2'"), std::string::npos) << q.err;
  EXPECT_NE(q.err.find("of 16 calibration examples"), std::string::npos) << q.err;
  EXPECT_NE(q.err.find("the model's labels are negative/positive but mrpc's are not_equivalent/equivalent"),
            std::string::npos)
      << q.err;
  EXPECT_NE(read_file(dir + "/q/quantization.json").find("\"warnings\""), std::string::npos);
  // A model whose config names no finetuning_task is still caught by its label names.
  const RunResult e = run_squish("eval --model_dir " + quote(test::shared_dir() + "/models/minilm-l6-sst2") +
                                 " --task mrpc --data_dir " + quote(data_dir()) + " --max_samples 8 --threads 1");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NE(e.err.find("is it a model for another task?"), std::string::npos) << e.err;
  // compare of a model with itself.
  const RunResult c = run_squish("compare --reference " + quote(tiny_model()) + " --model " + quote(tiny_model()) +
                                 " --task sst2 --data_dir " + quote(data_dir()) + " --max_samples 16 --threads 1" +
                                 " --output_dir " + quote(dir + "/c"));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.err.find("are the same model"), std::string::npos) << c.err;
  fs::remove_all(dir);
}

TEST(CliFlags, WhatCanBeCheckedIsCheckedBeforeTheWork) {
  const std::string dir = test::temp_dir("flags");
  const std::string model = " --model_dir " + quote(tiny_model()) + " --task sst2 --data_dir " + quote(data_dir()) +
                            " --threads 1 --output_dir " + quote(dir + "/out");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"quantize --max_length 1024", "--max_length 1024: expected 2..512"},
      {"sensitivity --bits 4 4", "--bits lists 4 twice"},
      {"sensitivity --bits 8 4", "increasing order"},
      {"mixed-precision --allocation budget --target_compression 100", "--target_compression 100: the smallest model"},
      {"mixed-precision --allocation uniform --uniform_bits 16 --bits 2 4", "--uniform_bits 16: not among"},
      {"calib-ablation --calib_sizes 100 100", "two sizes calibrate on 100 examples"},
      {"calib-ablation --calib_sizes 100000 200000", "(sst2 train has 67349)"},
      {"calib-ablation --observers mse mse", "--observers lists mse twice"},
      {"prune --method imp --rewind_step 1000 --max_train_samples 64", "--rewind_step 1000: a round runs 2 steps"},
  };
  for (const auto& [args, message] : cases) {
    const RunResult r = run_squish(args + model);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << args << " did work before refusing:\n" << r.out;
    EXPECT_FALSE(fs::exists(dir + "/out")) << args;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace squish
