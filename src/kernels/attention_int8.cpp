#include "kernels/attention_int8.h"

#include <omp.h>

#include <cmath>

#include "core/parallel.h"
#include "core/threads.h"
#include "kernels/attention_int8_kernels.h"
#include "kernels/gemm_lowbit.h"

namespace squish {
namespace int8_attention {
namespace isa_avx512vnni {
extern const AttentionInt8Kernels kAttentionInt8Kernels;
}
namespace isa_avx2 {
extern const AttentionInt8Kernels kAttentionInt8Kernels;
}
namespace isa_scalar {
extern const AttentionInt8Kernels kAttentionInt8Kernels;
}
}  // namespace int8_attention

namespace {

const int8_attention::AttentionInt8Kernels& kernels_for(Isa isa) {
  return integer_kernels_for(isa, int8_attention::isa_avx512vnni::kAttentionInt8Kernels,
                             int8_attention::isa_avx2::kAttentionInt8Kernels,
                             int8_attention::isa_scalar::kAttentionInt8Kernels, "int8 attention");
}

}  // namespace

int64_t attention_int8_workspace_bytes(const AttentionShape& s) {
  return static_cast<int64_t>(num_threads()) * int8_attention::head_workspace_bytes(s.tokens, s.head_dim);
}

void attention_int8(float* ctx, uint8_t* workspace, const float* qkv, const int32_t* lengths, const AttentionShape& s,
                    int64_t queries) {
  attention_int8(ctx, workspace, qkv, lengths, s, queries, lowbit_isa());
}

void attention_int8(float* ctx, uint8_t* workspace, const float* qkv, const int32_t* lengths, const AttentionShape& s,
                    int64_t queries, Isa isa) {
  const int8_attention::AttentionInt8Kernels& kernels = kernels_for(isa);
  const int64_t T = s.tokens, H = s.hidden(), HD = s.head_dim;
  const int64_t per_thread = int8_attention::head_workspace_bytes(T, HD);
  const float score_scale = 1.0f / std::sqrt(static_cast<float>(HD));
  parallel_for(
      s.batch * s.heads,
      [&](int64_t task) {
        const int64_t b = task / s.heads, h = task % s.heads;
        const float* rows = qkv + b * T * 3 * H + h * HD;
        int8_attention::HeadArgs args;
        args.q = rows;
        args.k = rows + H;
        args.v = rows + 2 * H;
        args.row_stride = 3 * H;
        args.ctx = ctx + b * queries * H + h * HD;
        args.ctx_stride = H;
        args.tokens = T;
        args.queries = queries;
        args.length = lengths[b];
        args.head_dim = HD;
        args.score_scale = score_scale;
        args.workspace = workspace + static_cast<int64_t>(omp_get_thread_num()) * per_thread;
        kernels.head(args);
      },
      1);
}

int64_t causal_attention_int8_workspace_bytes(const CausalAttentionShape& s) {
  return static_cast<int64_t>(num_threads()) * int8_attention::head_workspace_bytes(s.tokens, s.head_dim);
}

void causal_attention_int8(float* ctx, uint8_t* workspace, const float* qkv, const int32_t* lengths,
                           const int32_t* branch_ids, const CausalAttentionShape& s) {
  causal_attention_int8(ctx, workspace, qkv, lengths, branch_ids, s, lowbit_isa());
}

// A task codes its own K and V prefix, so tasks are independent of each other. Next to VNNI's
// products that coding is dear, so tasks are long: 128 queries instead of fp32's 32 took SmolLM2's
// heads from 5.9 to 4.0 ms at 1 × 1024 and from 1.7 to 1.3 ms at 4 × 256 (one thread).
constexpr int64_t kCausalRows = 128;

void causal_attention_int8(float* ctx, uint8_t* workspace, const float* qkv, const int32_t* lengths,
                           const int32_t* branch_ids, const CausalAttentionShape& s, Isa isa) {
  run_causal_blocks(kernels_for(isa).causal_group, kCausalRows, workspace,
                    int8_attention::head_workspace_bytes(s.tokens, s.head_dim), ctx, qkv, lengths, branch_ids, s);
}

}  // namespace squish
