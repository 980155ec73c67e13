// Attention for training (attention_training.h). One task per (sequence, head), in parallel: each
// writes only its own head's columns of ctx / d_qkv and its own [T, T] block of probs and workspace,
// so no two threads touch the same float and nothing depends on the thread count. The products are
// sgemm calls on strided head views (single-threaded inside the parallel loop, which is the split
// we want: B·NH = 384 tasks at MiniLM shapes). Only the len[b] valid key columns are multiplied;
// the softmax writes the masked ones as 0.
#include "kernels/attention_training.h"

#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "kernels/matmul.h"
#include "kernels/training_row_ops.h"
#include "kernels/vector_ops.h"

namespace squish {
namespace {

void check_lengths(const int32_t* lengths, const AttentionShape& s, const char* kernel) {
  for (int64_t b = 0; b < s.batch; ++b)
    if (lengths[b] < 1 || lengths[b] > s.tokens)
      throw ShapeError(std::string(kernel) + ": length of sequence " + std::to_string(b) + " expected in [1, " +
                       std::to_string(s.tokens) + "], found " + std::to_string(lengths[b]));
}

// d[i, j] = p[i, j] · keep[i, j] · scale over the valid columns of a [T, T] block: the dropped-out
// probabilities of the forward, or (same formula) dP from dD in the backward.
void apply_keep(float* d, const float* p, const uint8_t* keep, int64_t tokens, int64_t valid, float scale) {
  for (int64_t i = 0; i < tokens; ++i) {
#pragma omp simd
    for (int64_t j = 0; j < valid; ++j) d[i * tokens + j] = keep[i * tokens + j] ? p[i * tokens + j] * scale : 0.0f;
  }
}

void zero_rows(float* x, int64_t ld, int64_t from, int64_t to, int64_t n) {
  for (int64_t i = from; i < to; ++i)
    for (int64_t j = 0; j < n; ++j) x[i * ld + j] = 0.0f;
}

}  // namespace

int64_t attention_probs_floats(const AttentionShape& s) { return s.batch * s.heads * s.tokens * s.tokens; }

// One [T, T] block per (sequence, head): D (when dropout is on) and then dD → dP → dS in place.
int64_t attention_backward_workspace_floats(const AttentionShape& s) { return attention_probs_floats(s); }

void attention_train_forward(float* ctx, float* probs, const float* qkv, const int32_t* lengths, const uint8_t* keep,
                             float p, const AttentionShape& s) {
  check_lengths(lengths, s, "attention_train_forward");
  const int64_t T = s.tokens, NH = s.heads, HD = s.head_dim, H = s.hidden(), ld_qkv = 3 * H;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HD));
  const float keep_scale = keep ? 1.0f / (1.0f - p) : 1.0f;
  const VectorOps& ops = vector_ops();
  parallel_for(
      s.batch * NH,
      [&](int64_t task) {
        const int64_t b = task / NH, h = task % NH, len = lengths[b];
        const float* q = qkv + b * T * ld_qkv + h * HD;
        float* pb = probs + task * T * T;
        matmul_strided(pb, T, q, ld_qkv, q + H, ld_qkv, T, len, HD, Transpose::kNo, Transpose::kYes, Accumulate::kNo);
        ops.masked_softmax(pb, T, T, len, scale);
        const float* d = pb;
        if (keep) {
          thread_local std::vector<float> dropped;
          dropped.resize(static_cast<size_t>(T * T));
          apply_keep(dropped.data(), pb, keep + task * T * T, T, len, keep_scale);
          d = dropped.data();
        }
        matmul_strided(ctx + b * T * H + h * HD, H, d, T, q + 2 * H, ld_qkv, T, HD, len, Transpose::kNo,
                       Transpose::kNo, Accumulate::kNo);
      },
      1);
}

void attention_backward(float* d_qkv, float* workspace, const float* d_ctx, const float* qkv, const float* probs,
                        const int32_t* lengths, const uint8_t* keep, float p, const AttentionShape& s) {
  check_lengths(lengths, s, "attention_backward");
  const int64_t T = s.tokens, NH = s.heads, HD = s.head_dim, H = s.hidden(), ld_qkv = 3 * H;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HD));
  const float keep_scale = keep ? 1.0f / (1.0f - p) : 1.0f;
  const TrainingRowOps& ops = training_row_ops();
  parallel_for(
      s.batch * NH,
      [&](int64_t task) {
        const int64_t b = task / NH, h = task % NH, len = lengths[b];
        const float* q = qkv + b * T * ld_qkv + h * HD;
        const float* k = q + H;
        const float* v = q + 2 * H;
        const float* dc = d_ctx + b * T * H + h * HD;
        float* dq = d_qkv + b * T * ld_qkv + h * HD;
        float* dk = dq + H;
        float* dv = dq + 2 * H;
        const float* pb = probs + task * T * T;
        const uint8_t* kb = keep ? keep + task * T * T : nullptr;
        float* w = workspace + task * T * T;
        // dV = D^T · d_ctx, D rebuilt from P and the mask.
        const float* d = pb;
        if (kb) {
          apply_keep(w, pb, kb, T, len, keep_scale);
          d = w;
        }
        matmul_strided(dv, ld_qkv, d, T, dc, H, len, HD, T, Transpose::kYes, Transpose::kNo, Accumulate::kNo);
        zero_rows(dv, ld_qkv, len, T, HD);
        // dD = d_ctx · V^T, then dP = dD ⊙ keep / (1 − p), then dS (scaled by 1/√HD) in place.
        matmul_strided(w, T, dc, H, v, ld_qkv, T, len, HD, Transpose::kNo, Transpose::kYes, Accumulate::kNo);
        if (kb) apply_keep(w, w, kb, T, len, keep_scale);
        ops.softmax_backward(w, w, pb, T, T, len, scale);
        matmul_strided(dq, ld_qkv, w, T, k, ld_qkv, T, HD, len, Transpose::kNo, Transpose::kNo, Accumulate::kNo);
        matmul_strided(dk, ld_qkv, w, T, q, ld_qkv, len, HD, T, Transpose::kYes, Transpose::kNo, Accumulate::kNo);
        zero_rows(dk, ld_qkv, len, T, HD);
      },
      1);
}

}  // namespace squish
