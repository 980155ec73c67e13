// `squish eval --task hellaswag` as a pipeline the other commands share (mixed-precision scores its
// fp32 and quantized models with it): the items (the default lm-eval file or request.data_file, a
// seeded subset with max_samples), the model, lm-evaluation-harness's acc and acc_norm, and the
// same run in EvalResult's terms (score acc_norm, one prediction per item) so a report can put a
// causal LM beside a classifier. Also the predictions file `eval --predictions` writes for it, and
// its reader (`squish compare` takes two).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/eval_pipeline.h"
#include "eval/multiple_choice.h"

namespace squish {

struct HellaswagRun {
  std::string data_file;
  std::vector<MultipleChoiceItem> items;  // the scored items, in the file's order
  std::vector<int64_t> positions;         // each scored item's 0-based position among the file's items
  MultipleChoiceResult scores;
  // task "hellaswag", score acc_norm (acc beside it); one prediction per item: index = its position in
  // the file, label = gold, pred = pred_norm, logits = the endings' summed log-likelihoods.
  EvalResult result;
};

// UsageError for a --split other than dev (empty means dev): HellaSwag is scored on its validation items.
void check_hellaswag_split(const std::string& split);

// check_hellaswag_split(request.split) first.
HellaswagRun run_hellaswag_eval(const EvalRequest& request);

// One JSON object per item: {"index" (position in the file), "ind" (when the file has it),
// "loglikelihoods", "pred", "pred_norm", "gold"}.
std::string hellaswag_predictions_jsonl(const HellaswagRun& run);

// A line of that file as the prediction `result` holds (pred = pred_norm, logits = loglikelihoods);
// nullopt for a JSON object without "pred_norm" (another kind of predictions), FormatError
// "<where>: expected ..." for one that has it and is malformed.
std::optional<ExamplePrediction> parse_hellaswag_prediction(const nlohmann::json& line, const std::string& where);

}  // namespace squish
