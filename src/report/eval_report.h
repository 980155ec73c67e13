// EvalResult for machines (JSON, predictions JSONL) and for people (a table on stdout).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "eval/eval_pipeline.h"

namespace squish {

// Schema "squish.eval", version 1 (docs/cli.md): run header, request, model, data, metrics,
// confusion matrix with its label names, tokens, timing.
nlohmann::ordered_json eval_result_json(const EvalResult& r, const EvalRequest& request);
// One line per example in dataset order: {"index", "label", "pred", "logits"}.
std::string predictions_jsonl(const EvalResult& r);
std::string eval_result_table(const EvalResult& r);

// The same parameters in fp32: 4 bytes each.
int64_t fp32_bytes(const EvalResult& r);
// The weights file against fp32_bytes (0 for generated weights, which have no file).
double compression_vs_fp32(const EvalResult& r);

}  // namespace squish
