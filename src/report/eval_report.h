// EvalResult for machines (JSON, predictions JSONL) and for people (a table on stdout).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "eval/runner.h"

namespace squish {

nlohmann::json eval_result_json(const EvalResult& r);
// One line per example in dataset order: {"index", "label", "pred", "logits"}.
std::string predictions_jsonl(const EvalResult& r);
std::string eval_result_table(const EvalResult& r);

}  // namespace squish
