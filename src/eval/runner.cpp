#include "eval/runner.h"

#include <algorithm>

#include "core/communicator.h"
#include "core/elapsed.h"
#include "core/error.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "core/threads.h"
#include "eval/batching.h"
#include "quant/bit_plan.h"

namespace squish {
namespace {

int argmax(const std::vector<float>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

}  // namespace

std::vector<Encoding> encode_dataset(const Tokenizer& tokenizer, const Dataset& data, int max_length,
                                     int64_t* truncated) {
  std::vector<Encoding> out(data.examples.size());
  parallel_for(static_cast<int64_t>(data.examples.size()), [&](int64_t i) {
    const Example& e = data.examples[static_cast<size_t>(i)];
    out[static_cast<size_t>(i)] =
        e.has_pair ? tokenizer.encode_pair(e.text, e.text_pair, max_length) : tokenizer.encode(e.text, max_length);
  });
  if (truncated) *truncated = std::count_if(out.begin(), out.end(), [](const Encoding& e) { return e.truncated; });
  return out;
}

Predictions predict_logits(SequenceModel& model, const std::vector<Encoding>& encodings, int32_t pad_id, int batch_size,
                           bool progress, const ForwardOptions& forward) {
  std::vector<int64_t> lengths(encodings.size());
  for (size_t i = 0; i < encodings.size(); ++i) lengths[i] = static_cast<int64_t>(encodings[i].input_ids.size());
  Predictions out;
  out.logits.resize(encodings.size());
  const int64_t C = model.info().num_labels;
  const std::vector<std::vector<size_t>> buckets = length_buckets(lengths, batch_size);
  // This rank's batches; their examples and logits in the order it ran them.
  std::vector<uint64_t> mine;
  std::vector<float> my_logits, batch_logits;
  int64_t my_examples = 0;
  for (size_t b = 0; b < buckets.size(); ++b)
    if (runs_here(static_cast<int64_t>(b))) my_examples += static_cast<int64_t>(buckets[b].size());
  ProgressBar bar("forward", progress ? my_examples : 0, "examples");
  for (size_t b = 0; b < buckets.size(); ++b) {
    const std::vector<size_t>& indices = buckets[b];
    int64_t longest = 0;
    for (size_t i : indices) {
      out.real_tokens += lengths[i];
      longest = std::max(longest, lengths[i]);
    }
    out.batch_tokens += static_cast<int64_t>(indices.size()) * longest;
    if (!runs_here(static_cast<int64_t>(b))) continue;
    const TokenBatch batch = make_token_batch(encodings, indices, pad_id);
    model.forward(batch, batch_logits, forward);
    mine.insert(mine.end(), indices.begin(), indices.end());
    my_logits.insert(my_logits.end(), batch_logits.begin(),
                     batch_logits.begin() + static_cast<std::ptrdiff_t>(indices.size() * C));
    bar.advance(static_cast<int64_t>(indices.size()));
  }
  gather_items<float>(
      mine, my_logits, [&](uint64_t) { return static_cast<size_t>(C); },
      [&](uint64_t example, const float* logits) { out.logits[example].assign(logits, logits + C); });
  return out;
}

void check_max_length(int max_length, const Tokenizer& tokenizer, const ModelInfo& info, bool pairs) {
  const int min_length = tokenizer.min_length(pairs);
  if (max_length < min_length || max_length > info.limits.max_positions)
    throw UsageError("--max_length " + std::to_string(max_length) + ": expected " + std::to_string(min_length) + ".." +
                     std::to_string(info.limits.max_positions) +
                     " (room for the special tokens, up to the model's max_position_embeddings)");
}

void describe_evaluated_model(SequenceModel& model, EvalResult& r) {
  const ModelInfo& info = model.info();
  r.model_source = info.source;
  r.architecture = info.architecture;
  r.id2label = info.id2label;
  r.parameters = model.parameter_count();
  r.resident_bytes = model.resident_bytes();
  r.model_file_bytes = info.weights_file_bytes;
  for (const Linear* l : model.linears()) ++r.linear_formats[std::string(l->weights->format())];
  r.embeddings_format = model.mutable_word_embeddings().format();
  r.attention = attention_arithmetic_name(model.attention_arithmetic());
  r.average_bits = average_weight_bits(model);
  r.threads = num_threads();
  r.processes = world().size();
}

EvalResult evaluate(SequenceModel& model, const Tokenizer& tokenizer, const Dataset& data, const EvalOptions& options) {
  const ModelInfo& info = model.info();
  if (!info.has_classifier)
    throw ConfigError(info.source + ": architecture " + info.architecture +
                      " has no sequence-classification head; eval needs a *ForSequenceClassification model");
  if (static_cast<int64_t>(tokenizer.vocab_size()) > info.limits.vocab_size)
    throw ConfigError(info.source + ": the tokenizer's vocab.txt has " + std::to_string(tokenizer.vocab_size()) +
                      " tokens but the model's vocab_size is " + std::to_string(info.limits.vocab_size));
  check_max_length(options.max_length, tokenizer, info, !data.examples.empty() && data.examples.front().has_pair);
  if (options.batch_size < 1) throw UsageError("--batch_size " + std::to_string(options.batch_size) + ": expected at least 1");
  if (info.num_labels != data.num_labels)
    throw ConfigError(info.source + ": the model has " + std::to_string(info.num_labels) + " labels but task " +
                      std::string(task_name(data.task)) + " has " + std::to_string(data.num_labels));
  const auto t_start = Clock::now();
  EvalResult r;
  r.task = task_name(data.task);
  r.split = split_name(data.split);
  r.data_path = data.path;
  describe_evaluated_model(model, r);
  r.examples = static_cast<int64_t>(data.examples.size());

  const std::vector<Encoding> encodings = encode_dataset(tokenizer, data, options.max_length, &r.truncated_examples);
  r.tokenize_seconds = seconds_since(t_start);

  const auto t_forward = Clock::now();
  const Predictions predictions = predict_logits(model, encodings, tokenizer.pad_id(), options.batch_size, options.progress);
  const auto& logits = predictions.logits;
  r.forward_seconds = seconds_since(t_forward);
  r.real_tokens = predictions.real_tokens;
  r.batch_tokens = predictions.batch_tokens;

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
  r.examples_per_second = r.forward_seconds > 0 ? static_cast<double>(r.examples) / r.forward_seconds : 0.0;
  return r;
}

}  // namespace squish
