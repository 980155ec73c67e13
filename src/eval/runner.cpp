#include "eval/runner.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "core/error.h"
#include "core/progress.h"
#include "core/threads.h"
#include "eval/batching.h"
#include "model/bert/bert_forward.h"

namespace squish {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int argmax(const std::vector<float>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

}  // namespace

std::vector<Encoding> encode_dataset(const WordPieceTokenizer& tokenizer, const Dataset& data, int max_length) {
  std::vector<Encoding> out(data.examples.size());
#pragma omp parallel for schedule(dynamic, 64)
  for (size_t i = 0; i < data.examples.size(); ++i) {
    const Example& e = data.examples[i];
    out[i] = e.has_pair ? tokenizer.encode_pair(e.text, e.text_pair, max_length) : tokenizer.encode(e.text, max_length);
  }
  return out;
}

Predictions predict_logits(const BertModel& model, const std::vector<Encoding>& encodings, int32_t pad_id,
                           int batch_size, bool progress, const Tap* tap) {
  std::vector<int64_t> lengths(encodings.size());
  for (size_t i = 0; i < encodings.size(); ++i) lengths[i] = static_cast<int64_t>(encodings[i].input_ids.size());
  Predictions out;
  out.logits.resize(encodings.size());
  BertActivations act;
  std::vector<float> batch_logits;
  const int64_t C = model.config.num_labels;
  ProgressBar bar("forward", progress ? static_cast<int64_t>(encodings.size()) : 0);
  for (const auto& indices : length_buckets(lengths, batch_size)) {
    const TokenBatch batch = make_token_batch(encodings, indices, pad_id);
    bert_forward(model, batch, act, batch_logits, tap);
    for (size_t s = 0; s < indices.size(); ++s) {
      out.logits[indices[s]].assign(batch_logits.begin() + static_cast<std::ptrdiff_t>(s * C),
                                    batch_logits.begin() + static_cast<std::ptrdiff_t>((s + 1) * C));
      out.real_tokens += lengths[indices[s]];
    }
    out.padded_tokens += batch.batch * batch.tokens;
    bar.advance(static_cast<int64_t>(indices.size()));
  }
  return out;
}

EvalResult evaluate(const BertModel& model, const WordPieceTokenizer& tokenizer, const Dataset& data,
                    const EvalOptions& options) {
  if (static_cast<int64_t>(tokenizer.vocab_size()) > model.config.vocab_size)
    throw ConfigError(model.source + ": the tokenizer's vocab.txt has " + std::to_string(tokenizer.vocab_size()) +
                      " tokens but the model's vocab_size is " + std::to_string(model.config.vocab_size));
  if (options.max_length < 2 || options.max_length > model.config.max_position_embeddings)
    throw UsageError("--max_length " + std::to_string(options.max_length) + ": expected 2.." +
                     std::to_string(model.config.max_position_embeddings) + " (the model's max_position_embeddings)");
  if (model.config.num_labels != data.num_labels)
    throw ConfigError(model.source + ": the model has " + std::to_string(model.config.num_labels) +
                      " labels but task " + std::string(task_name(data.task)) + " has " + std::to_string(data.num_labels));
  const auto t_start = std::chrono::steady_clock::now();
  EvalResult r;
  r.task = task_name(data.task);
  r.split = split_name(data.split);
  r.data_path = data.path;
  r.model_source = model.source;
  r.examples = static_cast<int64_t>(data.examples.size());
  r.parameters = model.parameter_count();
  r.parameter_bytes = r.parameters * static_cast<int64_t>(sizeof(float));
  std::error_code ec;
  const auto file_size = std::filesystem::file_size(model.source, ec);
  r.model_file_bytes = ec ? 0 : static_cast<int64_t>(file_size);
  r.threads = num_threads();

  const std::vector<Encoding> encodings = encode_dataset(tokenizer, data, options.max_length);
  r.tokenize_seconds = seconds_since(t_start);

  const auto t_forward = std::chrono::steady_clock::now();
  const Predictions predictions = predict_logits(model, encodings, tokenizer.pad_id(), options.batch_size, options.progress);
  const auto& logits = predictions.logits;
  r.forward_seconds = seconds_since(t_forward);
  r.total_tokens = predictions.real_tokens;
  r.padded_tokens = predictions.padded_tokens;

  std::vector<int> gold, pred;
  r.labeled = !data.examples.empty();
  for (size_t i = 0; i < data.examples.size(); ++i) {
    const Example& e = data.examples[i];
    r.predictions.push_back({e.index, e.label, argmax(logits[i]), logits[i]});
    r.labeled = r.labeled && e.label >= 0;
    gold.push_back(e.label);
    pred.push_back(r.predictions.back().pred);
  }
  if (r.labeled) {
    r.confusion = confusion_matrix(gold, pred, data.num_labels);
    r.metrics = classification_metrics(r.confusion);
    r.score = task_score(data.task, r.metrics);
  }
  r.wall_seconds = seconds_since(t_start);
  r.examples_per_second = r.wall_seconds > 0 ? static_cast<double>(r.examples) / r.wall_seconds : 0.0;
  return r;
}

}  // namespace squish
