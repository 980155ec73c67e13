// The unoptimised twins of every kernel: plain loops, double accumulation, libm functions. Never
// tuned, never used on a fast path; tests hold the fast kernels against them and bench/ reports
// how much faster the real ones are.
#pragma once

#include <cstdint>

#include "kernels/attention.h"
#include "kernels/causal_attention.h"
#include "kernels/epilogue.h"
#include "kernels/lowbit_scheme.h"

namespace squish::reference {

// Twin of apply_dequant_epilogue, in double.
void dequant_epilogue(float* y, const int32_t* acc, const float* row_scales, const int32_t* row_zero_points,
                      const float* col_scales, const int32_t* col_sums, const float* b, int64_t m, int64_t n, Epilogue e);
// y[M,N] = x[M,K] W[N,K]^T + b (b may be null), then the epilogue.
void linear(float* y, const float* x, const float* w, const float* b, int64_t m, int64_t n, int64_t k, Epilogue e);
// acc[M,N] = x[M,K] W[N,K]^T in exact 64-bit integers, cast to int32 (twin of gemm_u8s8s32).
void gemm_u8s8s32(int32_t* acc, const uint8_t* x, const int8_t* w, int64_t m, int64_t n, int64_t k);
// The low-bit GEMM's activation grid (gemm_lowbit.h), one row at a time: xs = max|x| / 127,
// xq = round-to-nearest-even(x · (127 / max|x|)) in fp32 (zeros for a zero row, and for a row so
// small that 127 / max|x| overflows).
void quantize_rows_symmetric(int8_t* xq, float* row_scales, const float* x, int64_t m, int64_t k);
// Twin of gemm_lowbit: x quantized as above, W dequantized (scale · code + minimum), then
// y = xs · Σ_k xq · w + b in double and the epilogue.
void gemm_lowbit(float* y, const float* x, const GroupQuantized& w, const float* b, int64_t m, Epilogue e);
// Twin of gemm_f16: W[N,K] (fp16 bit patterns) widened to fp32, then linear().
void gemm_f16(float* y, const float* x, const uint16_t* w, const float* b, int64_t m, int64_t n, int64_t k, Epilogue e);
void layernorm(float* y, const float* x, const float* gamma, const float* beta, int64_t rows, int64_t n, float eps);
void masked_softmax(float* s, int64_t rows, int64_t cols, int64_t valid, float scale);
float gelu_erf(float x);
void rmsnorm(float* y, const float* x, const float* gamma, int64_t rows, int64_t n, float eps);
void silu_mul(float* y, const float* gate_up, int64_t rows, int64_t n);
double log_sum_exp(const float* x, int64_t n);
void attention(float* ctx, const float* qkv, const int32_t* lengths, const AttentionShape& s);
// Twin of attention_int8 (kernels/attention_int8.h) on every query: codes by its rules (in fp32, as
// documented), integer sums exact, softmax and every scale product in double.
void attention_int8(float* ctx, const float* qkv, const int32_t* lengths, const AttentionShape& s);
// Twin of causal_attention_int8 on the valid queries (padded rows untouched): Q, K and V coded per
// token, each visible key's probability weighted by its V scale before P is coded.
void causal_attention_int8(float* ctx, const float* qkv, const int32_t* lengths, const int32_t* branch_ids,
                           const CausalAttentionShape& s);
// Rows of padded queries are left untouched.
void causal_attention(float* ctx, const float* qkv, const int32_t* lengths, const int32_t* branch_ids,
                      const CausalAttentionShape& s);

}  // namespace squish::reference
