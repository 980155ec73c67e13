#include "model/common/causal_lm_head.h"

#include <algorithm>

#include "core/error.h"
#include "kernels/vector_ops.h"

namespace squish {
namespace {

// Rows per head GEMM: enough for the GEMM to run near peak, few enough that [chunk, V] stays small.
constexpr int64_t kChunkRows = 64;

}  // namespace

void check_logprob_targets(const TokenBatch& b, const std::vector<LogprobTarget>& targets, int64_t vocab) {
  for (const LogprobTarget& t : targets)
    if (t.sequence < 0 || t.sequence >= b.batch || t.position < 0 || t.position >= b.lengths[t.sequence] ||
        t.token < 0 || t.token >= vocab)
      throw ShapeError("log-probability target (sequence " + std::to_string(t.sequence) + ", position " +
                       std::to_string(t.position) + ", token " + std::to_string(t.token) +
                       ") is outside the batch or the vocabulary");
}

void gather_target_rows(const float* hidden, int64_t hidden_size, const TokenBatch& b,
                        const std::vector<LogprobTarget>& targets, AlignedVector<float>& rows,
                        std::vector<int32_t>& tokens) {
  const int64_t n = static_cast<int64_t>(targets.size()), H = hidden_size;
  ensure_size(rows, n * H);
  tokens.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const LogprobTarget& t = targets[static_cast<size_t>(i)];
    std::copy_n(hidden + (t.sequence * b.tokens + t.position) * H, H, rows.data() + i * H);
    tokens[static_cast<size_t>(i)] = t.token;
  }
}

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
