// squish's one int8 convention, written once: real = scale * (q - zero_point).
//  - Weights: symmetric signed 8-bit, zero point 0, q in [-127, 127] (never -128, so negating a
//    weight stays representable), one scale per output channel (row of W[N,K]) or one per tensor,
//    where a tensor is one HF module: Q, K and V keep a scale each though they run as one GEMM,
//    as PyTorch and ONNX Runtime quantize them.
//  - Activations: asymmetric unsigned 8-bit, q in [0, kActivationQmax = 255] with a zero point, so
//    a post-GELU or post-LayerNorm range that is not centred wastes no codes. The same 255 steps on
//    every ISA: the int8 GEMM is exact for every u8 everywhere (kernels/gemm_int8.h), so a saved
//    grid means one computation on every machine. The range always contains 0, so zero (padding,
//    ReLU-like tails) is exact.
// u8 × s8 is what vpdpbusd multiplies; the zero point is taken out after the integer product with
// the weights' row sums: Σ_k (q_x - z)·q_w = acc - z · Σ_k q_w.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/tensor.h"

namespace squish {

// The u8 activation grid's top code, on every ISA.
inline constexpr int kActivationQmax = 255;
// The top code of a reduced-range grid (`--reduce_range`, as PyTorch's and ONNX Runtime's
// reduce_range spell it): 7 bits, so that vpmaddubsw's int16 pair sums cannot saturate and AVX2
// machines run oneDNN's faster int8 kernel exactly. Chosen at quantize time and stored in the file,
// so it too means one computation on every ISA.
inline constexpr int kReducedActivationQmax = 127;

enum class WeightGranularity { kPerChannel, kPerTensor };

struct Int8Weights {
  std::vector<int8_t> q;      // [N, K] row-major
  std::vector<float> scales;  // [N]: one per row, a per-tensor scale repeated over its rows
};

// A weight's code: v (the weight over its scale) rounded to nearest (ties to even), clamped to [-127, 127].
int8_t round_to_s8(float v);

// Round-to-nearest symmetric quantization of W[N,K]: scale = max|w| / 127 of each row, or of each
// tensor, the rows of `tensor_rows` in order (empty: all N rows are one tensor). An all-zero group
// gets scale 1 and zeros.
Int8Weights quantize_weights_s8(const Tensor& w, WeightGranularity granularity,
                                std::span<const int64_t> tensor_rows = {});
// Quantization with given per-row scales (a saved model's), so reloading re-creates the same q.
std::vector<int8_t> quantize_weights_with_scales(const Tensor& w, std::span<const float> scales);
// W[N,K] back in fp32: scale * q.
Tensor dequantize_weights_s8(const Int8Weights& w, int64_t n, int64_t k);

// An activation's u8 grid for the range [lo, hi] (widened to contain 0).
struct U8Params {
  float scale;
  int32_t zero_point;
};
U8Params u8_params(float lo, float hi, int qmax);

// Quantizes each row of x[m, k] with its own min/max range (dynamic quantization): q, and per row
// its scale and zero point.
void quantize_rows_u8(const float* x, int64_t m, int64_t k, int qmax, uint8_t* q, float* scales, int32_t* zero_points);
// Quantizes n values with one fixed grid (static quantization).
void quantize_u8(const float* x, int64_t n, U8Params p, int qmax, uint8_t* q);

}  // namespace squish
