// Grouped-query causal self-attention (Llama family, OPT), on fused Q|K|V rows:
//   ctx[b,i,h] = softmax_j( Q_h[i]·K_g[j] / sqrt(HD), j visible from i ) · V_g,   g = h / (NH / NKV)
// Key j is visible from query i when j <= i and j < lengths[b]; with branches, also only when
// branch[j] is 0 (the shared prefix) or branch[i]. Branches let one sequence hold a shared context
// followed by several continuations that each see the context and themselves but not each other,
// so a multiple-choice item's context is computed once for all its endings (eval/hellaswag).
// Rows of padded queries are computed but meaningless; callers ignore them.
#pragma once

#include <cstdint>

#include "kernels/cpu_features.h"

namespace squish {

struct CausalAttentionShape {
  int64_t batch, tokens, heads, kv_heads, head_dim;
  int64_t query_width() const { return heads * head_dim; }
  int64_t kv_width() const { return kv_heads * head_dim; }
  int64_t row_width() const { return query_width() + 2 * kv_width(); }  // one token's Q|K|V
};

// Floats of scratch causal_attention() needs for this shape: a block of queries' scores per thread,
// for the thread count set when it is called (size it right before the call). The kernel is fused
// (kernels/causal_attention_impl.h): a query block's scores, softmax and context in the thread's
// slice, never a head's [T, T]; `isa` picks the AVX-512, AVX2 or scalar variant (tests compare them).
int64_t causal_attention_workspace_floats(const CausalAttentionShape& s);

// qkv: [B, T, row_width()], Q of every head, then K of every KV head, then V; ctx: [B, T, NH·HD].
// lengths: B valid lengths in [1, T]; branch_ids: [B·T] or null (no branches), 0 for the shared part.
void causal_attention(float* ctx, float* workspace, const float* qkv, const int32_t* lengths, const int32_t* branch_ids,
                      const CausalAttentionShape& s);
void causal_attention(float* ctx, float* workspace, const float* qkv, const int32_t* lengths, const int32_t* branch_ids,
                      const CausalAttentionShape& s, Isa isa);

// The positions a rotary embedding gives each token: its index among the keys it sees (with
// branches, a continuation's first token follows the prefix). [B·T] out.
void causal_positions(int32_t* positions, const int32_t* lengths, const int32_t* branch_ids, int64_t batch,
                      int64_t tokens);

}  // namespace squish
