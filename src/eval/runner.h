// Evaluation of a classifier on a data set: tokenize, bucket by length, forward, score. The CLI's
// `squish eval` is a thin wrapper over evaluate(); tests call the same function.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/metrics.h"
#include "io/datasets/dataset.h"
#include "io/tokenizer/wordpiece.h"
#include "model/bert/bert_weights.h"
#include "model/tap.h"

namespace squish {

struct EvalOptions {
  int max_length = 128;
  int batch_size = 32;
  bool progress = true;  // a bar on stderr when it is a terminal
};

struct ExamplePrediction {
  int64_t index;  // the example's index in the data set (dataset order)
  int label;      // -1 when unlabeled
  int pred;
  std::vector<float> logits;
};

struct EvalResult {
  std::string task, split, data_path, model_source;
  int64_t examples = 0;
  bool labeled = false;                // metrics below are meaningful only when every example has a label
  ConfusionMatrix confusion;
  ClassificationMetrics metrics{};
  TaskScore score;
  int64_t parameters = 0;
  int64_t parameter_bytes = 0;         // fp32 bytes of the parameters as squish holds them
  int64_t model_file_bytes = 0;        // the weights file on disk (0 for generated models)
  int64_t total_tokens = 0, padded_tokens = 0;
  double tokenize_seconds = 0, forward_seconds = 0, wall_seconds = 0;
  double examples_per_second = 0;
  int threads = 0;
  std::vector<ExamplePrediction> predictions;  // dataset order
};

// Tokenizes `data` with the model's tokenizer (pairs for MRPC), truncating to max_length.
std::vector<Encoding> encode_dataset(const WordPieceTokenizer& tokenizer, const Dataset& data, int max_length);

struct Predictions {
  std::vector<std::vector<float>> logits;  // one row per encoding, in the encodings' order
  int64_t real_tokens = 0, padded_tokens = 0;  // tokens forwarded without and with the batches' padding
};

// Logits of every encoding with length bucketing. `tap` observes each batch.
Predictions predict_logits(const BertModel& model, const std::vector<Encoding>& encodings, int32_t pad_id,
                           int batch_size, bool progress, const Tap* tap = nullptr);

EvalResult evaluate(const BertModel& model, const WordPieceTokenizer& tokenizer, const Dataset& data,
                    const EvalOptions& options);

}  // namespace squish
