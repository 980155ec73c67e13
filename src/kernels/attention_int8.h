// Encoder self-attention with both products in int8, the function attention() (kernels/attention.h)
// computes, on quantized operands:
//   scores[i, j] = sq[i] · sk[j] · Σ_d q[i, d] · k[j, d] / sqrt(HD)   q, k symmetric s8, one scale a row
//   P = masked softmax of the scores (fp32), then per query row u8 codes p = round(P · 255 / max P)
//   ctx[i, d]    = sp[i] · sv[d] · Σ_j p[i, j] · v[j, d]               v symmetric s8, one scale a channel
// Q and K are quantized per token and head (a scale per row of the product's reduction); V per
// channel of the head over the sequence's valid keys, so its scale factors out of the sum over keys;
// P per query row (its largest probability → 255). Every integer sum is exact on every ISA, so a
// model's int8 attention means one computation everywhere up to the fp32 softmax (docs/quantization.md,
// "Int8 attention"). Each (sequence, head) is one task computed whole by one thread: results do not
// depend on the thread count.
//
// Causal attention (causal_attention_int8, the function causal_attention() computes) codes V per key
// instead: a per-channel scale over the sequence would let later tokens change earlier tokens'
// outputs. Key j's V scale sv[j] is folded into its probability before P is coded,
//   w[i, j] = P[i, j] · sv[j],   p = round(w · 255 / max_j w),   ctx[i, d] = sp[i] · Σ_j p[i, j] · v[j, d]
// with sp[i] = max_j w / 255, so the sum over keys stays one integer sum. Tasks are (sequence, KV group,
// block of queries); K and V are coded once a task and serve every query head of the group.
#pragma once

#include <cstdint>

#include "kernels/attention.h"
#include "kernels/causal_attention.h"
#include "kernels/cpu_features.h"

namespace squish {

// Bytes of scratch attention_int8() needs for this shape at the current thread count (size it right
// before the call).
int64_t attention_int8_workspace_bytes(const AttentionShape& s);

// The same contract as attention(): qkv [B, T, 3H], lengths in [1, T], ctx [B, queries, H]; keys at or
// past a sequence's length get probability 0. `isa` picks the kernels (tests compare them).
void attention_int8(float* ctx, uint8_t* workspace, const float* qkv, const int32_t* lengths, const AttentionShape& s,
                    int64_t queries);
void attention_int8(float* ctx, uint8_t* workspace, const float* qkv, const int32_t* lengths, const AttentionShape& s,
                    int64_t queries, Isa isa);

// Bytes of scratch causal_attention_int8() needs at the current thread count.
int64_t causal_attention_int8_workspace_bytes(const CausalAttentionShape& s);

// The contract of causal_attention() (kernels/causal_attention.h): qkv [B, T, row_width()], ctx
// [B, T, NH·HD], lengths in [1, T], branch_ids [B·T] or null.
void causal_attention_int8(float* ctx, uint8_t* workspace, const float* qkv, const int32_t* lengths,
                           const int32_t* branch_ids, const CausalAttentionShape& s);
void causal_attention_int8(float* ctx, uint8_t* workspace, const float* qkv, const int32_t* lengths,
                           const int32_t* branch_ids, const CausalAttentionShape& s, Isa isa);

}  // namespace squish
