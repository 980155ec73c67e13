#include "kernels/causal_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/parallel.h"
#include "kernels/gemm.h"
#include "kernels/vector_ops.h"

namespace squish {
namespace {

bool visible(const int32_t* branch, int64_t query, int64_t key) {
  return !branch || branch[key] == 0 || branch[key] == branch[query];
}

}  // namespace

// One sequence at a time; its work in tasks of one KV group (a group's query heads share its K and V,
// so one product per side serves them all) by a block of kQueryRows queries. Each task's products
// run on the thread that took it, whole: oneDNN splits a small product along its dot products when
// it has threads to spare, which would make scores depend on the thread count (and a distributed
// run on its ranks). Blocks of a fixed size keep every product's shape independent of threads too.
constexpr int64_t kQueryRows = 32;

int64_t causal_attention_workspace_floats(const CausalAttentionShape& s) { return s.heads * s.tokens * s.tokens; }

void causal_attention(float* ctx, float* workspace, const float* qkv, const int32_t* lengths, const int32_t* branch_ids,
                      const CausalAttentionShape& s) {
  const int64_t T = s.tokens, HD = s.head_dim, stride = s.row_width(), group = s.heads / s.kv_heads;
  const int64_t ctx_stride = s.query_width();
  const float scale = 1.0f / std::sqrt(static_cast<float>(HD));
  const VectorOps& ops = vector_ops();
  const int64_t q_strides[4] = {group * HD, HD, stride, 1};
  const int64_t k_strides[3] = {HD, 1, stride};  // K read as its transpose
  const int64_t v_strides[3] = {HD, stride, 1};
  const int64_t score_strides[4] = {group * T * T, T * T, T, 1};  // [NKV, group, T, T] in the workspace
  const int64_t ctx_strides[4] = {group * HD, HD, ctx_stride, 1};
  const int64_t blocks = (T + kQueryRows - 1) / kQueryRows;
  for (int64_t b = 0; b < s.batch; ++b) {
    const float* rows = qkv + b * T * stride;
    const int32_t* branch = branch_ids ? branch_ids + b * T : nullptr;
    const int64_t length = lengths[b];
    parallel_for(
        s.kv_heads * blocks,
        [&](int64_t task) {
          const int64_t g = task / blocks, first = (task % blocks) * kQueryRows, m = std::min(kQueryRows, T - first);
          float* scores = workspace + g * group * T * T + first * T;
          const float* keys = rows + s.query_width() + g * HD;
          grouped_gemm(scores, score_strides, rows + first * stride + g * group * HD, q_strides, keys, k_strides, 1,
                       group, m, T, HD);
          for (int64_t member = 0; member < group; ++member)
            for (int64_t i = first; i < first + m; ++i) {
              float* row = scores + member * T * T + (i - first) * T;
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
          grouped_gemm(ctx + (b * T + first) * ctx_stride + g * group * HD, ctx_strides, scores, score_strides,
                       keys + s.kv_width(), v_strides, 1, group, m, HD, T);
        },
        1);
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
