// `squish eval` as a library call: load the data set and take the subset, load the tokenizer and
// the model, evaluate. The CLI binds its flags to an EvalRequest and calls run_eval(); tests call
// the same function. Every option and its default is declared here once.
#pragma once

#include <cstdint>
#include <string>

#include "eval/runner.h"

namespace squish {

struct EvalRequest {
  std::string model_dir;
  std::string task;                      // sst2 | mrpc | imdb | hellaswag (eval/hellaswag_eval.h)
  std::string split;                     // empty: default_eval_split(task)
  std::string data_dir = "../shared/data";
  std::string data_file;                 // hellaswag: the items' file; empty: the lm-eval file under data_dir
  int64_t max_samples = 0;               // 0 = every example; else a seeded random subset
  uint64_t seed = 42;
  EvalOptions options;
};

// The split a task is scored on: dev for GLUE, test for IMDB (which has no dev split).
std::string default_eval_split(const std::string& task);

// Also fills r.warnings: stored tensors the config does not use (a config with fewer layers than its
// weights), a model fine-tuned for another task, examples truncated to max_length. Task hellaswag:
// run_hellaswag_eval's result (eval/hellaswag_eval.h).
EvalResult run_eval(const EvalRequest& request);

// Where a run on `task` is about to mislead, whatever it does with the model: stored tensors the
// config does not use, a model fine-tuned for another task (eval, quantize, compare and the
// experiments all say these).
std::vector<std::string> model_task_warnings(const ModelInfo& info, const std::string& task);
// "<N> of <M> <what> (x%) were longer than --max_length L and were truncated"; "" when none were.
std::string truncation_warning(int64_t truncated, int64_t examples, int max_length, const std::string& task,
                               const std::string& what);

// UsageError when `split` has no gold labels: the commands that exist to compare scores (ptq-compare,
// calib-ablation, mixed-precision) refuse it before any work; `eval` gives predictions only.
void require_labeled_split(const std::string& task, const std::string& split, const std::string& command);

}  // namespace squish
