#include "kernels/causal_attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "core/parallel.h"
#include "core/threads.h"
#include "kernels/causal_blocks.h"
#include "kernels/cpu_features.h"

namespace squish {
namespace causal_fp32 {
namespace isa_avx512 {
extern void (*const kCausalBlock)(const CausalBlock&);
}
namespace isa_avx2 {
extern void (*const kCausalBlock)(const CausalBlock&);
}
namespace isa_scalar {
extern void (*const kCausalBlock)(const CausalBlock&);
}
}  // namespace causal_fp32

namespace {

// Queries a task: the fused kernel keeps nothing between its row blocks, so small tasks cost nothing
// and spread the causal triangle's uneven rows evenly over the threads.
constexpr int64_t kQueryRows = 32;

// A thread's slice: the block's queries transposed ([HD, 16]) and its scores ([T, 16]), 16 the
// widest vector's lanes.
int64_t fp32_block_floats(const CausalAttentionShape& s) { return (s.head_dim + s.tokens) * 16; }

}  // namespace

void run_causal_blocks(void (*block)(const CausalBlock&), int64_t block_rows, uint8_t* workspace, int64_t per_thread,
                       float* ctx, const float* qkv, const int32_t* lengths, const int32_t* branch_ids,
                       const CausalAttentionShape& s) {
  const int64_t T = s.tokens, HD = s.head_dim, group = s.heads / s.kv_heads;
  const int64_t blocks = (T + block_rows - 1) / block_rows;
  const float score_scale = 1.0f / std::sqrt(static_cast<float>(HD));
  parallel_for(
      s.batch * s.kv_heads * blocks,
      [&](int64_t task) {
        const int64_t b = task / (s.kv_heads * blocks), g = task / blocks % s.kv_heads;
        const int64_t first = task % blocks * block_rows;
        const float* rows = qkv + b * T * s.row_width();
        CausalBlock c;
        c.q = rows + g * group * HD;
        c.k = rows + s.query_width() + g * HD;
        c.v = rows + s.query_width() + s.kv_width() + g * HD;
        c.row_stride = s.row_width();
        c.ctx = ctx + b * T * s.query_width() + g * group * HD;
        c.ctx_stride = s.query_width();
        c.tokens = T;
        c.first = first;
        c.rows = std::min(block_rows, T - first);
        c.length = lengths[b];
        c.head_dim = HD;
        c.group = group;
        c.score_scale = score_scale;
        c.branch = branch_ids ? branch_ids + b * T : nullptr;
        c.workspace = workspace + static_cast<int64_t>(omp_get_thread_num()) * per_thread;
        block(c);
      },
      1);
}

int64_t causal_attention_workspace_floats(const CausalAttentionShape& s) {
  return static_cast<int64_t>(num_threads()) * fp32_block_floats(s);
}

void causal_attention(float* ctx, float* workspace, const float* qkv, const int32_t* lengths, const int32_t* branch_ids,
                      const CausalAttentionShape& s) {
  causal_attention(ctx, workspace, qkv, lengths, branch_ids, s, active_isa());
}

void causal_attention(float* ctx, float* workspace, const float* qkv, const int32_t* lengths, const int32_t* branch_ids,
                      const CausalAttentionShape& s, Isa isa) {
  void (*block)(const CausalBlock&) = isa == Isa::kAvx512 ? causal_fp32::isa_avx512::kCausalBlock
                                      : isa == Isa::kAvx2 ? causal_fp32::isa_avx2::kCausalBlock
                                                          : causal_fp32::isa_scalar::kCausalBlock;
  run_causal_blocks(block, kQueryRows, reinterpret_cast<uint8_t*>(workspace),
                    fp32_block_floats(s) * static_cast<int64_t>(sizeof(float)), ctx, qkv, lengths, branch_ids, s);
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
