// Row-wise kernels around the GEMMs: LayerNorm, masked softmax, and the int8 scheme's per-element
// passes (quantizing activations to u8, dequantizing int32 products). (GELU, tanh and the residual
// adds run fused into the GEMMs as oneDNN post-ops, see gemm.h.)
// Each is compiled three times (isa_avx512/, isa_avx2/, isa_scalar/ — the same source,
// vector_ops_impl.h, under different -m flags) and the variant for active_isa() is chosen on first
// use. Their unoptimised twins live in reference/ and the tests hold each variant against them.
#pragma once

#include <cstdint>

#include "kernels/cpu_features.h"

namespace squish {

struct VectorOps {
  // y[r,:] = (x[r,:] - mean) / sqrt(var + eps) * gamma + beta for `rows` rows of `n`; y may alias x.
  void (*layernorm)(float* y, const float* x, const float* gamma, const float* beta, int64_t rows, int64_t n,
                    float eps);
  // In place over `rows` rows of `cols` scores: softmax of scale * s over the first `valid` columns,
  // zeros after them (padded keys). valid >= 1.
  void (*masked_softmax)(float* s, int64_t rows, int64_t cols, int64_t valid, float scale);
  // The smallest and largest of x[0, n), n >= 1.
  void (*min_max)(const float* x, int64_t n, float* lo, float* hi);
  // q[i] = round_half_up(clamp(x[i] * inv_scale + zero_point, 0, qmax)) (kernels/int8_scheme.h).
  void (*quantize_u8)(const float* x, int64_t n, float inv_scale, float zero_point, float qmax, uint8_t* q);
  // One row of apply_dequant_epilogue (kernels/epilogue.h) before its activation:
  // y[j] (+)= row_scale * col_scales[j] * (acc[j] - row_zero_point * col_sums[j]) + bias[j].
  void (*dequantize_row)(float* y, const int32_t* acc, float row_scale, int32_t row_zero_point, const float* col_scales,
                         const int32_t* col_sums, const float* bias, int64_t n, bool accumulate);
  // y[r,:] = x[r,:] / sqrt(mean(x[r,:]²) + eps) * gamma (RMSNorm, Llama family); y may alias x.
  void (*rmsnorm)(float* y, const float* x, const float* gamma, int64_t rows, int64_t n, float eps);
  // y[r, j] = silu(g) * u for rows [g (n) | u (n)] of gate_up (SwiGLU); y [rows, n] must not alias.
  void (*silu_mul)(float* y, const float* gate_up, int64_t rows, int64_t n);
  // log Σ exp(x[j]) over x[0, n), n >= 1, finite x (a causal LM's normaliser over its vocabulary).
  float (*log_sum_exp)(const float* x, int64_t n);
};

const VectorOps& vector_ops();                 // for active_isa()
const VectorOps& vector_ops_for(Isa isa);      // a given variant (tests, benchmarks)

}  // namespace squish
