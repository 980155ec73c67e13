#include "kernels/causal_attention.h"

#include <cmath>
#include <limits>

#include "kernels/gemm.h"
#include "kernels/vector_ops.h"

namespace squish {
namespace {

bool visible(const int32_t* branch, int64_t query, int64_t key) {
  return !branch || branch[key] == 0 || branch[key] == branch[query];
}

}  // namespace

// One sequence at a time, every head in one product per side (a KV group's query heads share its K
// and V): per-head calls cost more in dispatch than SmolLM2's 128-token products take. Its
// NH·T·T scores stay in cache between the three passes.
int64_t causal_attention_workspace_floats(const CausalAttentionShape& s) { return s.heads * s.tokens * s.tokens; }

void causal_attention(float* ctx, float* workspace, const float* qkv, const int32_t* lengths, const int32_t* branch_ids,
                      const CausalAttentionShape& s) {
  const int64_t T = s.tokens, HD = s.head_dim, stride = s.row_width(), group = s.heads / s.kv_heads;
  const int64_t ctx_stride = s.query_width();
  const float scale = 1.0f / std::sqrt(static_cast<float>(HD));
  const VectorOps& ops = vector_ops();
  float* scores = workspace;  // [NKV, group, T, T]
  const int64_t q_strides[4] = {group * HD, HD, stride, 1};
  const int64_t k_strides[3] = {HD, 1, stride};  // K read as its transpose
  const int64_t v_strides[3] = {HD, stride, 1};
  const int64_t score_strides[4] = {group * T * T, T * T, T, 1};
  const int64_t ctx_strides[4] = {group * HD, HD, ctx_stride, 1};
  for (int64_t b = 0; b < s.batch; ++b) {
    const float* rows = qkv + b * T * stride;
    const int32_t* branch = branch_ids ? branch_ids + b * T : nullptr;
    const int64_t length = lengths[b];
    grouped_gemm(scores, score_strides, rows, q_strides, rows + s.query_width(), k_strides, s.kv_heads, group, T, T,
                 HD);
#pragma omp parallel for schedule(static) if (s.heads * T * T > 32768)
    for (int64_t r = 0; r < s.heads * T; ++r) {
      const int64_t i = r % T;
      float* row = scores + r * T;
      // A padded query attends to the first key alone: finite, and ignored.
      const int64_t valid = i < length ? i + 1 : 1;
      if (branch)
        for (int64_t j = 0; j < valid; ++j)
          if (!visible(branch, i, j)) row[j] = -std::numeric_limits<float>::infinity();
      ops.masked_softmax(row, 1, T, valid, scale);
      if (branch)  // exp's floor leaves ~1e-38 where the score was -inf
        for (int64_t j = 0; j < valid; ++j)
          if (!visible(branch, i, j)) row[j] = 0.0f;
    }
    grouped_gemm(ctx + b * T * ctx_stride, ctx_strides, scores, score_strides, rows + s.query_width() + s.kv_width(),
                 v_strides, s.kv_heads, group, T, HD, T);
  }
}

void causal_positions(int32_t* positions, const int32_t* lengths, const int32_t* branch_ids, int64_t batch,
                      int64_t tokens) {
  for (int64_t b = 0; b < batch; ++b) {
    const int32_t* branch = branch_ids ? branch_ids + b * tokens : nullptr;
    int32_t shared = 0, in_branch = 0, current = 0;
    for (int64_t i = 0; i < tokens; ++i) {
      const int32_t id = branch && i < lengths[b] ? branch[i] : 0;
      if (id == 0) {
        positions[b * tokens + i] = i < lengths[b] ? shared++ : 0;
        continue;
      }
      if (id != current) in_branch = 0;
      current = id;
      positions[b * tokens + i] = shared + in_branch++;
    }
  }
}

}  // namespace squish
