// squish's one int8 convention, written once: real = scale * (q - zero_point).
//  - Weights: symmetric signed 8-bit, zero point 0, q in [-127, 127] (never -128, so negating a
//    weight stays representable), one scale per output channel (row of W[N,K]) or one per tensor.
//  - Activations: asymmetric unsigned 8-bit, q in [0, qmax] with a zero point, so a post-GELU or
//    post-LayerNorm range that is not centred wastes no codes. qmax is 255 where the int8 GEMM is
//    exact for every u8 (AVX-512 VNNI), 128 on the AVX2 path (kernels/gemm_int8.h says why). The
//    range always contains 0, so zero (padding, ReLU-like tails) is exact.
// u8 × s8 is what vpdpbusd multiplies; the zero point is taken out after the integer product with
// the weights' row sums: Σ_k (q_x - z)·q_w = acc - z · Σ_k q_w.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace squish {

struct Int8Weights {
  std::vector<int8_t> q;      // [N, K] row-major
  std::vector<float> scales;  // [N] per channel, or [1] per tensor
};

// Round-to-nearest symmetric quantization of W[N,K]: scale = max|w| / 127 (of the row or the tensor;
// an all-zero row gets scale 1 and zeros).
Int8Weights quantize_weights_s8(const Tensor& w, bool per_channel);
// W[N,K] back in fp32: scale * q.
Tensor dequantize_weights_s8(const Int8Weights& w, int64_t n, int64_t k);

// One row's activation scale and zero point for the range [lo, hi] (widened to contain 0).
struct U8Params {
  float scale;
  int32_t zero_point;
};
U8Params u8_params(float lo, float hi, int qmax);

// Quantizes each row of x[m, k] with its own min/max range (dynamic quantization): q (rounded half
// up), and per row its scale and zero point.
void quantize_rows_u8(const float* x, int64_t m, int64_t k, int qmax, uint8_t* q, float* scales, int32_t* zero_points);

}  // namespace squish
