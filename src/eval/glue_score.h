// `squish glue-score` as a library call: every model scored on its GLUE task's dev split (SST-2
// accuracy, MRPC F1), models paired by the method that made them, and the GLUE score of a method is
// the mean of its two task metrics. Models come as directories, as run folders of other commands
// (their JSON says the method and the task: docs/run_folder.md), or as saved `squish eval --output`
// JSON read without evaluating; the result as JSON and as a table. Not here: other GLUE tasks.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/runner.h"

namespace squish {

// What a folder holds, as its run JSON says (docs/run_folder.md): the method ("int8-dynamic",
// "int8-static", "plan-rtn", "mixed-precision", "prune-imp", "fp32" for a trained or plain model),
// its task ("" when nothing says), and the model directory inside it (dense/ of a prune run, model/
// of a mixed-precision run, else the folder). `has_run_json` is false for a plain model directory.
struct RunFolder {
  std::string method, task, model_dir;
  bool has_run_json = false;
};

// Reads quantization.json, results.json (squish.mixed_precision), pruning.json or training.json in
// `dir`; a quantized model's task is its source model's (followed through quantization.json's
// source.model_dir). The task otherwise comes from config.json's finetuning_task. IoError when `dir`
// is not a directory; FormatError for a run JSON that does not parse or lacks the fields named here.
RunFolder describe_run_folder(const std::string& dir);

enum class GlueSource { kModels, kRuns, kResults };

struct GlueEntry {
  std::string method;  // "" = the method the run JSON records (or "fp32" for a plain model directory)
  std::string path;    // a model directory, a run folder or an eval JSON, per GlueSource
};

// "NAME=PATH" or "PATH"; UsageError for an empty name or path.
GlueEntry parse_glue_entry(const std::string& text);

struct GlueScoreRequest {
  GlueSource source = GlueSource::kModels;
  std::vector<GlueEntry> entries;
  std::string data_dir = "../shared/data";
  EvalOptions options;
};

struct GlueTaskResult {
  std::string method, task, path, model_dir, split;
  int64_t examples = 0;
  double accuracy = 0, f1 = 0;
  double value = 0;  // the task's metric: SST-2 accuracy, MRPC F1
  double seconds = 0;  // evaluating (0 when read from results)
};

struct GlueMethodScore {
  std::string method;
  std::optional<double> sst2_accuracy, mrpc_f1;
  std::optional<double> glue;  // the mean of the two, when the method has both
};

// Methods in the order they first appear. DataError when one method has two models for one task;
// DataError for a task other than sst2 or mrpc.
std::vector<GlueMethodScore> pair_by_method(const std::vector<GlueTaskResult>& scored);

struct GlueScoreResult {
  GlueScoreRequest request;
  std::vector<GlueTaskResult> scored;
  std::vector<GlueMethodScore> methods;
  std::vector<std::string> warnings;  // a method with one task only, a saved result on a subset or not on dev
  double wall_seconds = 0;
};

// UsageError for no entries, a --runs folder without a run JSON, a model whose task cannot be told or
// is not sst2/mrpc, or a saved result that is not squish.eval JSON (FormatError when it does not parse).
GlueScoreResult run_glue_score(const GlueScoreRequest& request);

// Schema squish.glue_score version 1 (docs/run_folder.md).
nlohmann::ordered_json glue_score_json(const GlueScoreResult& r);
std::string glue_score_table(const GlueScoreResult& r);

}  // namespace squish
