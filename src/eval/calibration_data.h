// Calibration examples for every pass that calibrates (static W8A8, GPTQ, sensitivity): drawn as
// a seeded subset of a split that is never the one the model is scored on (refused), tokenized
// and cut into length-bucketed batches, with the calibration texts that also occur in the
// evaluation split counted (the splits are disjoint as files; their texts need not be).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/datasets/dataset.h"
#include "io/tokenizer/tokenizer.h"
#include "model/common/sequence_model.h"
#include "model/common/token_batch.h"

namespace squish {

struct DuplicateText {
  int64_t calibration_index, evaluation_index;
  std::string text;
};

struct CalibrationRequest {
  std::string task, split = "train", eval_split, data_dir;
  int64_t size = 500;
  uint64_t seed = 42;
  int max_length = 128, batch_size = 32;
};

struct CalibrationSet {
  CalibrationRequest request;
  std::string path;                       // the file the examples came from
  std::vector<int64_t> indices;           // their row numbers in it, ascending
  int64_t tokens = 0;                     // valid (unpadded) tokens
  int64_t truncated = 0;                  // examples cut to max_length
  int64_t duplicates = 0;                 // examples whose exact text is in the evaluation split
  std::vector<DuplicateText> duplicate_examples;  // the first few
  std::vector<TokenBatch> batches;
};

// UsageError when the calibration split is the evaluation split.
void check_calibration_split(const std::string& task, const std::string& calib_split, const std::string& eval_split);

// `examples` (already drawn from request.split) as a calibration set.
CalibrationSet make_calibration_set(const Tokenizer& tokenizer, const Dataset& examples, const CalibrationRequest& request);
// Checks the splits, draws request.size examples with request.seed and makes the set.
CalibrationSet load_calibration_set(const Tokenizer& tokenizer, const CalibrationRequest& request);

// Whether `task` scores a causal LM (hellaswag) rather than a classifier (sst2, mrpc, imdb).
bool is_language_modelling_task(const std::string& task);
// What every calibrating command refuses before its work: a causal LM with a classification task or a
// classifier with hellaswag (naming --model_dir and what to do; `verb` is the command's: "quantize"),
// and --calib_data (a causal LM's texts) for a classifier.
void check_task_fits_model(const std::string& task, const std::string& calib_data, const ModelInfo& info,
                           const std::string& model_dir, const std::string& verb);

// A causal LM's calibration texts, drawn as request.size texts with request.seed: request.task names
// a classification task (the texts of its request.split) or a text file (JSONL {"text"} per line,
// or plain text with one text per non-empty line); empty means imdb. The model is scored on
// HellaSwag, so its items are refused, by name or as a file of them. No duplicates are counted: the
// sources hold no items.
CalibrationSet load_text_calibration_set(const Tokenizer& tokenizer, const CalibrationRequest& request);

// Length-bucketed batches of `data`; `truncated`, when given, receives how many examples were cut.
std::vector<TokenBatch> token_batches(const Tokenizer& tokenizer, const Dataset& data, int max_length, int batch_size,
                                      int64_t* truncated = nullptr);

// {"task", "split", "path", "size", "seed", "batch_size", "max_length", "tokens", "indices"} and, beside it,
// "duplicates": {"evaluation_split", "count", "examples"}.
nlohmann::ordered_json calibration_json(const CalibrationSet& set);
nlohmann::ordered_json duplicates_json(const CalibrationSet& set);

}  // namespace squish
