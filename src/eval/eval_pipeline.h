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
  std::string task;                      // sst2 | mrpc | imdb
  std::string split = "dev";
  std::string data_dir = "../shared/data";
  int64_t max_samples = 0;               // 0 = every example; else a seeded random subset
  uint64_t seed = 42;
  EvalOptions options;
};

// Also fills r.warnings: stored tensors the config does not use (a config with fewer layers than its
// weights), a model fine-tuned for another task, examples truncated to max_length.
EvalResult run_eval(const EvalRequest& request);

}  // namespace squish
