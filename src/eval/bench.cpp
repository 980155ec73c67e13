#include "eval/bench.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "core/error.h"
#include "core/threads.h"

namespace squish {

double bert_forward_flops(const BertConfig& c, int64_t batch, int64_t seq, bool last_layer_cls_only) {
  const double B = static_cast<double>(batch), T = static_cast<double>(seq), M = B * T;
  const double H = static_cast<double>(c.hidden_size), FF = static_cast<double>(c.intermediate_size);
  // rows: tokens the dense part runs on; queries: attending positions per sequence.
  auto layer = [&](double rows, double queries) {
    return 2.0 * M * 3.0 * H * H + 2.0 * 2.0 * B * queries * T * H + 2.0 * rows * (H * H + 2.0 * H * FF);
  };
  const double head = 2.0 * B * H * (H + static_cast<double>(c.num_labels));
  const double last = last_layer_cls_only ? layer(B, 1.0) : layer(M, T);
  return layer(M, T) * static_cast<double>(c.num_hidden_layers - 1) + last + head;
}

TokenBatch random_token_batch(const BertConfig& c, int64_t batch, int64_t seq, uint64_t seed) {
  TokenBatch b;
  b.batch = batch;
  b.tokens = seq;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> id(0, static_cast<int32_t>(c.vocab_size - 1));
  for (int64_t i = 0; i < batch * seq; ++i) b.input_ids.push_back(id(rng));
  b.token_type_ids.assign(static_cast<size_t>(batch * seq), 0);
  b.lengths.assign(static_cast<size_t>(batch), static_cast<int32_t>(seq));
  return b;
}

BenchResult bench_forward(const BertModel& model, int64_t batch, int64_t seq, int runs, int warmup, uint64_t seed) {
  const BertConfig& c = model.config;
  if (batch <= 0 || seq <= 0 || runs <= 0)
    throw UsageError("bench: --batch, --seq and --runs must be positive");
  if (seq > c.max_position_embeddings)
    throw UsageError("bench: --seq " + std::to_string(seq) + " exceeds the model's max_position_embeddings " +
                     std::to_string(c.max_position_embeddings));
  const TokenBatch b = random_token_batch(c, batch, seq, seed);
  BertActivations act;
  std::vector<float> logits;
  for (int i = 0; i < warmup; ++i) bert_forward(model, b, act, logits);
  BenchResult r;
  r.batch = batch;
  r.seq = seq;
  r.runs = runs;
  r.threads = num_threads();
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    bert_forward(model, b, act, logits);
    r.run_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::vector<double> sorted = r.run_ms;
  std::sort(sorted.begin(), sorted.end());
  r.median_ms = sorted[sorted.size() / 2];
  r.min_ms = sorted.front();
  r.max_ms = sorted.back();
  r.forward_gflop = bert_forward_flops(c, batch, seq, true) / 1e9;
  r.sequences_per_second = static_cast<double>(batch) / (r.median_ms / 1e3);
  r.gflops_per_second = r.forward_gflop / (r.median_ms / 1e3);
  return r;
}

}  // namespace squish
