// Self-attention for training: the forward of kernels/attention.h (same fused [B, T, 3H] QKV
// input, same padding mask) keeping the softmax probabilities, with dropout on them as BERT does,
// and its backward. Per sequence b and head h, with Q, K, V the head's [T, HD] views:
//   S = Q·K^T / sqrt(HD), keys j >= len[b] masked;  P = softmax_j(S);  D = P ⊙ keep / (1−p)
//   ctx = D·V
// backward (from d_ctx):  dD = d_ctx·V^T;  dV = D^T·d_ctx;  dP = dD ⊙ keep / (1−p)
//   dS = P ⊙ (dP − Σ_j dP⊙P);  dQ = dS·K / sqrt(HD);  dK = dS^T·Q / sqrt(HD)
// Padded query rows are computed like the rest (they attend to the valid keys) and get whatever
// gradient d_ctx gives them; padded keys get probability 0 and so zero dK, dV from every query.
#pragma once

#include <cstdint>

#include "kernels/attention.h"

namespace squish {

// Floats of probabilities attention_train_forward keeps: B·NH·T·T.
int64_t attention_probs_floats(const AttentionShape& s);
// Scratch floats attention_backward needs: B·NH·T·T, one [T, T] block per (sequence, head), so that
// heads run in parallel without sharing scratch.
int64_t attention_backward_workspace_floats(const AttentionShape& s);

// ctx [B, T, H] (written), probs [B, NH, T, T] (written: P before dropout, 0 at padded keys) from
// qkv [B, T, 3H]. keep: B·NH·T·T dropout mask (kernels/training_ops.h dropout_mask), or null for
// no dropout (p ignored).
void attention_train_forward(float* ctx, float* probs, const float* qkv, const int32_t* lengths, const uint8_t* keep,
                             float p, const AttentionShape& s);
// d_qkv [B, T, 3H] (written: dQ|dK|dV per token) from d_ctx [B, T, H] and the forward's qkv, probs
// and keep mask.
void attention_backward(float* d_qkv, float* workspace, const float* d_ctx, const float* qkv, const float* probs,
                        const int32_t* lengths, const uint8_t* keep, float p, const AttentionShape& s);

}  // namespace squish
