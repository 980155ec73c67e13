#include "eval/bench.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "core/elapsed.h"
#include "core/error.h"
#include "core/threads.h"
#include "model/common/trainable_classifier.h"
#include "train/trainer.h"

namespace squish {

TokenBatch random_token_batch(const TokenLimits& limits, int64_t batch, int64_t seq, uint64_t seed) {
  TokenBatch b;
  b.batch = batch;
  b.tokens = seq;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> id(0, static_cast<int32_t>(limits.vocab_size - 1));
  for (int64_t i = 0; i < batch * seq; ++i) b.input_ids.push_back(id(rng));
  b.token_type_ids.assign(static_cast<size_t>(batch * seq), 0);
  b.lengths.assign(static_cast<size_t>(batch), static_cast<int32_t>(seq));
  return b;
}

BenchResult bench_forward(SequenceModel& model, const BenchOptions& o) {
  const TokenLimits& limits = model.info().limits;
  if (o.batch <= 0 || o.seq <= 0 || o.runs <= 0)
    throw UsageError("bench: --batch, --seq and --runs must be positive");
  if (o.seq > limits.max_positions)
    throw UsageError("bench: --seq " + std::to_string(o.seq) + " exceeds the model's max_position_embeddings " +
                     std::to_string(limits.max_positions));
  const TokenBatch b = random_token_batch(limits, o.batch, o.seq, o.seed);
  // A causal LM runs to log-probabilities of every position's next token (the batch's own next id;
  // the last position's is the first id), what perplexity computes and what PyTorch's full logits
  // cost; a classifier to its logits.
  std::vector<LogprobTarget> targets;
  if (model.info().has_lm_head)
    for (int64_t s = 0; s < o.batch; ++s)
      for (int64_t t = 0; t < o.seq; ++t)
        targets.push_back({s, t, b.input_ids[static_cast<size_t>(s * o.seq + (t + 1) % o.seq)]});
  std::vector<float> logits;
  std::vector<double> logprobs;
  auto forward = [&] {
    if (targets.empty()) {
      model.forward(b, logits);
    } else {
      model.target_logprobs(b, targets, logprobs);
    }
  };
  for (int i = 0; i < o.warmup; ++i) forward();
  BenchResult r;
  r.batch = o.batch;
  r.seq = o.seq;
  r.runs = o.runs;
  r.warmup = o.warmup;
  r.seed = o.seed;
  r.threads = num_threads();
  for (int i = 0; i < o.runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    forward();
    r.run_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::vector<double> sorted = r.run_ms;
  std::sort(sorted.begin(), sorted.end());
  r.median_ms = sorted[sorted.size() / 2];
  r.min_ms = sorted.front();
  r.max_ms = sorted.back();
  r.forward_gflop = model.forward_flops(o.batch, o.seq, LastLayerRows::kClsOnly) / 1e9;
  r.full_forward_gflop = model.forward_flops(o.batch, o.seq, LastLayerRows::kAllTokens) / 1e9;
  r.sequences_per_second = static_cast<double>(o.batch) / (r.median_ms / 1e3);
  r.tokens_per_second = r.sequences_per_second * static_cast<double>(o.seq);
  r.gflops_per_second = r.forward_gflop / (r.median_ms / 1e3);
  return r;
}

TrainBenchResult bench_train(const SequenceModel& model, const BenchOptions& o) {
  const std::unique_ptr<TrainableClassifier> trainable = model.trainable_classifier();
  const TokenBatch batch = random_token_batch(model.info().limits, o.batch, o.seq, o.seed);
  std::vector<int32_t> labels(static_cast<size_t>(o.batch));
  for (size_t i = 0; i < labels.size(); ++i)
    labels[i] = static_cast<int32_t>(i % static_cast<size_t>(trainable->num_labels()));
  TrainingStep step(*trainable, AdamWOptions{.weight_decay = 0.01});
  TrainBenchResult r;
  r.batch = o.batch;
  r.seq = o.seq;
  r.runs = o.runs;
  r.warmup = o.warmup;
  r.threads = num_threads();
  for (int i = 0; i < o.warmup + o.runs; ++i) {
    const Clock::time_point start = Clock::now();
    step.run(*trainable, batch, labels, TrainingDropout{true, o.seed, static_cast<uint64_t>(i)}, batch.batch, 1e-5, 1.0,
             nullptr);
    if (i >= o.warmup) r.step_seconds.push_back(seconds_since(start));
  }
  std::vector<double> sorted = r.step_seconds;
  std::sort(sorted.begin(), sorted.end());
  r.median_seconds = sorted[sorted.size() / 2];
  r.step_gflop = trainable->train_flops(o.batch, o.seq) / 1e9;
  r.tokens_per_second = static_cast<double>(o.batch * o.seq) / r.median_seconds;
  r.gflops_per_second = r.step_gflop / r.median_seconds;
  return r;
}

}  // namespace squish
