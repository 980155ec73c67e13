// A decoder's self-attention in the arithmetic its model records: causal_attention() in fp32 or
// causal_attention_int8() (kernels/attention_int8.h), for every causal architecture alike.
#pragma once

#include "core/tensor.h"
#include "kernels/causal_attention.h"
#include "model/common/attention_arithmetic.h"
#include "model/common/token_batch.h"

namespace squish {

// Scratch of either kernel, grown at each call to the shape and the thread count of that call.
struct CausalAttentionScratch {
  AlignedVector<float> fp32;
  AlignedVector<uint8_t> int8;
};

// qkv [B, T, s.row_width()] (Q and K already rotated where the model rotates them); ctx [B, T, NH·HD].
void causal_self_attention(AttentionArithmetic arithmetic, float* ctx, CausalAttentionScratch& scratch,
                           const float* qkv, const TokenBatch& batch, const CausalAttentionShape& s);

}  // namespace squish
