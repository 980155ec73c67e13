// Multi-head self-attention with a padding mask, on the fused QKV projection:
//   ctx[b,t,h*HD:(h+1)*HD] = softmax_j( Q_bh[t]·K_bh[j] / sqrt(HD), j < len[b] ) · V_bh
// Sequences are right-padded: keys at positions >= len[b] get probability 0 (HF adds the most
// negative float before softmax, which gives the same zeros). Rows of padded queries are computed
// but meaningless; callers ignore them.
#pragma once

#include <cstdint>

namespace squish {

struct AttentionShape {
  int64_t batch, tokens, heads, head_dim;
  int64_t hidden() const { return heads * head_dim; }
};

// Floats of scratch attention() needs for this shape.
int64_t attention_workspace_floats(const AttentionShape& s, int64_t queries);

// qkv: [B, T, 3H] (per token: Q for all heads, then K, then V). lengths: B valid lengths, each in [1, T].
// Only the first `queries` positions of each sequence attend (T for a whole layer; 1 when only
// [CLS] is needed, as in BERT's last layer under a classifier): ctx is [B, queries, H].
// workspace: attention_workspace_floats(s, queries) floats.
void attention(float* ctx, float* workspace, const float* qkv, const int32_t* lengths, const AttentionShape& s,
               int64_t queries);

}  // namespace squish
