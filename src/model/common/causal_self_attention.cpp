#include "model/common/causal_self_attention.h"

#include "kernels/attention_int8.h"

namespace squish {

void causal_self_attention(AttentionArithmetic arithmetic, float* ctx, CausalAttentionScratch& scratch,
                           const float* qkv, const TokenBatch& batch, const CausalAttentionShape& s) {
  const int32_t* branch_ids = batch.branch_ids.empty() ? nullptr : batch.branch_ids.data();
  if (arithmetic == AttentionArithmetic::kInt8) {
    ensure_size(scratch.int8, causal_attention_int8_workspace_bytes(s));
    causal_attention_int8(ctx, scratch.int8.data(), qkv, batch.lengths.data(), branch_ids, s);
    return;
  }
  ensure_size(scratch.fp32, causal_attention_workspace_floats(s));
  causal_attention(ctx, scratch.fp32.data(), qkv, batch.lengths.data(), branch_ids, s);
}

}  // namespace squish
