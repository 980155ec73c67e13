// Forward-pass throughput on random token ids: what `squish bench` measures. Times whole forwards
// (embeddings to logits) after warm-up runs, so packing and primitive creation are not counted.
#pragma once

#include <cstdint>
#include <vector>

#include "model/common/sequence_model.h"

namespace squish {

struct BenchOptions {
  int64_t batch = 1, seq = 128;
  int runs = 10, warmup = 2;
  uint64_t seed = 42;
};

struct BenchResult {
  int64_t batch = 0, seq = 0;
  int runs = 0, warmup = 0, threads = 0;
  uint64_t seed = 0;
  double median_ms = 0, min_ms = 0, max_ms = 0;
  double sequences_per_second = 0;  // at the median
  double tokens_per_second = 0;     // B·T per median forward
  double gflops_per_second = 0;     // executed FLOPs / median time
  // FLOPs one forward executes, in GFLOP. The last layer attends from [CLS] only and runs its dense
  // part on B rows, ~6% below a full forward at BERT-base shapes: compare engines by sequences/s.
  double forward_gflop = 0;
  double full_forward_gflop = 0;    // every layer on every token: what PyTorch and ONNX Runtime execute
  std::vector<double> run_ms;
};

// B sequences of T uniformly random token ids (type 0, no padding), deterministic for a seed.
TokenBatch random_token_batch(const TokenLimits& limits, int64_t batch, int64_t seq, uint64_t seed);

BenchResult bench_forward(SequenceModel& model, const BenchOptions& options);

// Training throughput: whole optimizer steps (forward with dropout, backward, clipping, AdamW) of a
// BERT classifier on B random sequences of T tokens with random labels, timed after warm-up steps.
struct TrainBenchResult {
  int64_t batch = 0, seq = 0;
  int runs = 0, warmup = 0, threads = 0;
  double median_seconds = 0;
  double tokens_per_second = 0;   // B·T / median step
  double gflops_per_second = 0;   // the model's train_flops / median step
  double step_gflop = 0;
  std::vector<double> step_seconds;
};
TrainBenchResult bench_train(const SequenceModel& model, const BenchOptions& options);

}  // namespace squish
