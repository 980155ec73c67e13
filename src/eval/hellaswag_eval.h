// `squish eval --task hellaswag` as a pipeline the other commands share (mixed-precision scores its
// fp32 and quantized models with it): the items (the default lm-eval file or request.data_file, a
// seeded subset with max_samples), the model, lm-evaluation-harness's acc and acc_norm, and the
// same run in EvalResult's terms (score acc_norm, one prediction per item) so a report can put a
// causal LM beside a classifier.
#pragma once

#include <string>
#include <vector>

#include "eval/eval_pipeline.h"
#include "eval/multiple_choice.h"

namespace squish {

struct HellaswagRun {
  std::string data_file;
  std::vector<MultipleChoiceItem> items;  // the scored items, in the file's order
  MultipleChoiceResult scores;
  EvalResult result;  // task "hellaswag", score acc_norm (acc beside it), prediction = pred_norm per item
};

// UsageError for a --split other than dev (empty means dev): HellaSwag is scored on its validation items.
void check_hellaswag_split(const std::string& split);

// check_hellaswag_split(request.split) first.
HellaswagRun run_hellaswag_eval(const EvalRequest& request);

}  // namespace squish
