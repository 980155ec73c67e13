// `squish compare` as a library call: a compressed model against its reference (usually the FP32
// original) on the same examples, either by evaluating both model directories (run_eval, which
// scores a causal LM on HellaSwag by run_hellaswag_eval) or from two predictions files that
// `squish eval --predictions` wrote; then the error analysis (eval/error_analysis.h) joined with the
// examples' texts, written as OUT/compare.json (schema squish.compare, docs/run_folder.md) in a
// staged directory. On HellaSwag the compared prediction is acc_norm's choice, the drift that of the
// endings' log-likelihoods, and acc's agreement is added (MultipleChoiceAgreement). Not here: the
// table and the JSON layout (eval/compare_report.h), plots (squish report).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "eval/error_analysis.h"
#include "eval/metrics.h"
#include "eval/runner.h"
#include "io/datasets/dataset.h"

namespace squish {

struct CompareRequest {
  // Either both model directories or both predictions files.
  std::string reference_dir, model_dir;
  std::string reference_predictions, model_predictions;
  std::string task;   // sst2 | mrpc | imdb | hellaswag; required with model directories; with predictions files
                      // optional (then no texts)
  std::string split;  // empty: default_eval_split(task) (dev; test for imdb; hellaswag: dev only)
  std::string data_dir = "../shared/data";
  std::string data_file;    // hellaswag: the items' file; empty: the lm-eval file under data_dir
  int64_t max_samples = 0;  // model directories: the seeded subset both are evaluated on
  uint64_t seed = 42;
  EvalOptions options;
  ErrorAnalysisOptions analysis;
  std::string output_dir;  // must not exist (or be empty); compare.json goes there
};

// What compare.json says about one side.
struct ComparedModel {
  std::string source;  // the model directory or the predictions file
  double accuracy = 0;              // labeled only
  std::optional<TaskScore> score;   // labeled and a task given
  double seconds = 0;               // evaluating (model directory) or reading (predictions file)
};

struct CompareResult {
  CompareRequest request;
  ErrorAnalysis analysis;
  ComparedModel reference, compressed;
  std::string data_path;                   // "" without a task
  std::map<int64_t, std::string> id2label;  // from the reference model's config; {} from predictions files
  std::map<int64_t, Example> texts;         // the examples named in analysis.representative and top_flips
                                            // (HellaSwag: text = the item's context)
  std::optional<MultipleChoiceAgreement> multiple_choice;  // task hellaswag
  std::vector<std::string> warnings;
  double wall_seconds = 0;
};

// One {"index", "label", "pred", "logits"} object per line, as eval_report.h's predictions_jsonl()
// writes, or HellaSwag's {"index", "loglikelihoods", "pred_norm", "gold", ...} (hellaswag_eval.h);
// blank lines skipped. IoError when unreadable; FormatError "<path>:<line>: expected ..., found ..."
// for a line that is not such an object.
std::vector<ExamplePrediction> read_predictions_jsonl(const std::string& path);

// UsageError for a request naming neither or both pairs of inputs, half a pair, model directories
// without a task, or max_samples with predictions files; IoError for an output_dir that exists and is
// not empty (checked before any work); DataError when a predictions file names an example the data
// set does not have or gives it another label (a file of another task or split), and for predictions
// that do not align (error_analysis.h).
CompareResult run_compare(const CompareRequest& request);

}  // namespace squish
