// Forward-pass throughput on random token ids: what `squish bench` measures. Times whole forwards
// (embeddings to logits) after warm-up runs, so packing and primitive creation are not counted.
#pragma once

#include <cstdint>
#include <vector>

#include "model/bert/bert_forward.h"

namespace squish {

struct BenchResult {
  int64_t batch = 0, seq = 0;
  int runs = 0, threads = 0;
  double median_ms = 0, min_ms = 0, max_ms = 0;
  double sequences_per_second = 0;  // at the median
  double gflops_per_second = 0;     // executed FLOPs / median time
  double forward_gflop = 0;         // FLOPs one forward executes, in GFLOP
  std::vector<double> run_ms;
};

// The FLOPs of a forward (multiply-adds count 2; every Linear, QK^T and PV; row-wise ops not
// counted). Without a Tap, bert_forward's last layer attends from [CLS] only and runs its dense part
// on B rows (`last_layer_cls_only`), ~6% below a full forward at BERT-base shapes: compare engines
// by sequences/s, not by GFLOP/s.
double bert_forward_flops(const BertConfig& c, int64_t batch, int64_t seq, bool last_layer_cls_only);

// B sequences of T uniformly random token ids (type 0, no padding), deterministic for a seed.
TokenBatch random_token_batch(const BertConfig& c, int64_t batch, int64_t seq, uint64_t seed);

BenchResult bench_forward(const BertModel& model, int64_t batch, int64_t seq, int runs, int warmup, uint64_t seed);

}  // namespace squish
