#include "kernels/causal_attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/parallel.h"
#include "core/threads.h"
#include "kernels/gemm.h"
#include "kernels/vector_ops.h"

namespace squish {
namespace {

bool visible(const int32_t* branch, int64_t query, int64_t key) {
  return !branch || branch[key] == 0 || branch[key] == branch[query];
}

}  // namespace

// Work in tasks of (sequence, KV group, block of kQueryRows queries): a group's query heads share
// its K and V, so one product per side serves them all. A block's queries see keys before
// first + rows only, so its products stop at that prefix, rounded up to kKeyColumns keys (a handful
// of product shapes per length, each compiled once; the masked softmax zeroes the rest). The
// scores of a task live in its thread's slice of the workspace, never a head's [T, T]. Each task's
// products run on the thread that took it, whole: oneDNN splits a small product along its dot
// products when it has threads to spare, which would make scores depend on the thread count (and a
// distributed run on its ranks); blocks of a fixed size keep every shape independent of threads.
constexpr int64_t kQueryRows = 32, kKeyColumns = 128;

int64_t causal_attention_workspace_floats(const CausalAttentionShape& s) {
  return static_cast<int64_t>(num_threads()) * (s.heads / s.kv_heads) * std::min(kQueryRows, s.tokens) * s.tokens;
}

void causal_attention(float* ctx, float* workspace, const float* qkv, const int32_t* lengths, const int32_t* branch_ids,
                      const CausalAttentionShape& s) {
  const int64_t T = s.tokens, HD = s.head_dim, stride = s.row_width(), group = s.heads / s.kv_heads;
  const int64_t ctx_stride = s.query_width(), block_rows = std::min(kQueryRows, T);
  const float scale = 1.0f / std::sqrt(static_cast<float>(HD));
  const VectorOps& ops = vector_ops();
  const int64_t q_strides[4] = {group * HD, HD, stride, 1};
  const int64_t k_strides[3] = {HD, 1, stride};  // K read as its transpose
  const int64_t v_strides[3] = {HD, stride, 1};
  const int64_t score_strides[4] = {group * block_rows * T, block_rows * T, T, 1};  // [group, rows, T] a thread
  const int64_t ctx_strides[4] = {group * HD, HD, ctx_stride, 1};
  const int64_t blocks = (T + kQueryRows - 1) / kQueryRows;
  parallel_for(
      s.batch * s.kv_heads * blocks,
      [&](int64_t task) {
        const int64_t b = task / (s.kv_heads * blocks), g = task / blocks % s.kv_heads;
        const int64_t first = task % blocks * kQueryRows, m = std::min(kQueryRows, T - first);
        const int64_t keys = std::min(T, (first + m + kKeyColumns - 1) / kKeyColumns * kKeyColumns);
        const float* rows = qkv + b * T * stride;
        const int32_t* branch = branch_ids ? branch_ids + b * T : nullptr;
        const int64_t length = lengths[b];
        float* scores = workspace + static_cast<int64_t>(omp_get_thread_num()) * group * block_rows * T;
        const float* key_rows = rows + s.query_width() + g * HD;
        grouped_gemm(scores, score_strides, rows + first * stride + g * group * HD, q_strides, key_rows, k_strides, 1,
                     group, m, keys, HD);
        for (int64_t member = 0; member < group; ++member)
          for (int64_t i = first; i < first + m; ++i) {
            float* row = scores + member * block_rows * T + (i - first) * T;
            // A padded query attends to the first key alone: finite, and ignored.
            const int64_t valid = i < length ? i + 1 : 1;
            if (branch)
              for (int64_t j = 0; j < valid; ++j)
                if (!visible(branch, i, j)) row[j] = -std::numeric_limits<float>::infinity();
            ops.masked_softmax(row, 1, keys, valid, scale);
            if (branch)  // exp's floor leaves ~1e-38 where the score was -inf
              for (int64_t j = 0; j < valid; ++j)
                if (!visible(branch, i, j)) row[j] = 0.0f;
          }
        grouped_gemm(ctx + (b * T + first) * ctx_stride + g * group * HD, ctx_strides, scores, score_strides,
                     key_rows + s.kv_width(), v_strides, 1, group, m, HD, keys);
      },
      1);
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
