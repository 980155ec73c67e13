// Evaluation of a classifier on a data set: tokenize, bucket by length, forward, score. Works on
// any SequenceModel and Tokenizer; run_eval() (eval_pipeline.h) adds loading on top.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "eval/metrics.h"
#include "io/datasets/dataset.h"
#include "io/tokenizer/tokenizer.h"
#include "model/common/sequence_model.h"

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
  std::string task, split, data_path, model_source, architecture;
  std::map<int64_t, std::string> id2label;
  int64_t examples = 0;
  bool labeled = false;                // metrics below are meaningful only when every example has a label
  ConfusionMatrix confusion;
  ClassificationMetrics metrics{};
  TaskScore score;
  int64_t parameters = 0;
  int64_t resident_bytes = 0;          // the weights in memory as squish holds them
  int64_t model_file_bytes = 0;        // the weights file(s) on disk (0 for generated models)
  std::map<std::string, int> linear_formats;  // Linears per weight format ("f32": 2, "int8-static": 24)
  std::string embeddings_format;       // the word embeddings' ("f32", "int4-g64", ...)
  std::string attention;               // attention's products: "f32" | "int8"
  double average_bits = 0;             // stored bits per weight of the Linears and word embeddings
  int64_t real_tokens = 0, batch_tokens = 0;  // tokens forwarded without and with the batches' padding
  int64_t truncated_examples = 0;      // examples cut to max_length
  double load_seconds = 0, tokenize_seconds = 0, forward_seconds = 0, wall_seconds = 0;
  double examples_per_second = 0;      // over the forward pass
  int threads = 0;                     // per process
  int processes = 1;                   // ranks of a data-parallel run (core/communicator.h)
  std::vector<std::string> warnings;   // where the user is about to be misled (run_eval fills them)
  std::vector<ExamplePrediction> predictions;  // dataset order
};

// Tokenizes `data` (pairs for MRPC), truncating to max_length; `truncated`, when given, receives
// how many examples were cut.
std::vector<Encoding> encode_dataset(const Tokenizer& tokenizer, const Dataset& data, int max_length,
                                     int64_t* truncated = nullptr);

struct Predictions {
  std::vector<std::vector<float>> logits;  // one row per encoding, in the encodings' order
  int64_t real_tokens = 0, batch_tokens = 0;  // tokens forwarded without and with the batches' padding
};

// Logits of every encoding with length bucketing.
Predictions predict_logits(SequenceModel& model, const std::vector<Encoding>& encodings, int32_t pad_id, int batch_size,
                           bool progress, const ForwardOptions& forward = {});

// UsageError unless max_length leaves room for the special tokens (a pair's when `pairs`) and fits the
// model's max_position_embeddings: every command checks it before its work, not when a long example
// reaches the model.
void check_max_length(int max_length, const Tokenizer& tokenizer, const ModelInfo& info, bool pairs);

EvalResult evaluate(SequenceModel& model, const Tokenizer& tokenizer, const Dataset& data, const EvalOptions& options);
// What an EvalResult says of the model itself: source, architecture, labels, sizes, formats, threads.
void describe_evaluated_model(SequenceModel& model, EvalResult& r);

}  // namespace squish
