#include "model/common/causal_lm_head.h"

#include <algorithm>

#include "kernels/vector_ops.h"

namespace squish {
namespace {

// Rows per head GEMM: enough for the GEMM to run near peak, few enough that [chunk, V] stays small.
constexpr int64_t kChunkRows = 64;

}  // namespace

void causal_lm_logprobs(const LinearWeights& head, const float* rows, int64_t n, const int32_t* targets, double* out,
                        CausalLmHeadScratch& scratch) {
  const int64_t vocab = head.out_features(), hidden = head.in_features();
  ensure_size(scratch.logits, std::min(n, kChunkRows) * vocab);
  const VectorOps& ops = vector_ops();
  for (int64_t first = 0; first < n; first += kChunkRows) {
    const int64_t m = std::min(kChunkRows, n - first);
    float* logits = scratch.logits.data();
    head.apply(logits, rows + first * hidden, nullptr, m, Epilogue::kNone, scratch.linear);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < m; ++i) {
      const float* row = logits + i * vocab;
      out[first + i] = static_cast<double>(row[targets[first + i]]) - ops.log_sum_exp(row, vocab);
    }
  }
}

}  // namespace squish
