// Int8 GEMMs for quantized Linears: acc[M,N] = x[M,K] · W[N,K]^T with x unsigned 8-bit, W signed
// 8-bit and exact int32 accumulation, through oneDNN's u8×s8 matmul with W packed once.
//
// Why u8×s8: AVX-512 VNNI's vpdpbusd multiplies unsigned by signed bytes, so activations are
// quantized to u8 with a zero point and weights to symmetric s8. The zero point comes back out with
// each weight row's sum: Σ_k (x - z)·w = acc - z · Σ_k w, the row sums computed once at packing.
//
// AVX2 has no VNNI: oneDNN multiplies with vpmaddubsw, which adds two adjacent u8·s8 products into
// a saturating int16. With |w| <= 127 that is exact only while 2 · x · 127 <= 32767, i.e. x <= 129;
// int8_activation_max() says which bound this machine's path has (255 with VNNI, 128 without), and
// quantizers must stay within it (tested both ways: tests/kernels/test_gemm_int8.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/epilogue.h"

namespace squish {

// The largest u8 activation the int8 GEMM multiplies exactly on this machine (after SQUISH_ISA's cap).
int int8_activation_max();

// W[N,K] int8 (PyTorch nn.Linear layout) packed for oneDNN, with its row sums. Immutable after
// packing; shareable across threads.
class PackedInt8Weights {
 public:
  static PackedInt8Weights pack(const int8_t* w, int64_t n, int64_t k);
  int64_t n() const { return n_; }
  int64_t k() const { return k_; }
  // Σ_k W[n, k] for each output row n: the zero-point correction.
  const std::vector<int32_t>& row_sums() const;
  // Packed bytes plus the row sums.
  int64_t bytes() const;
  // W back in [N,K] row-major order, exactly.
  void unpack(int8_t* w) const;
  struct Impl;

 private:
  int64_t n_ = 0, k_ = 0;
  std::shared_ptr<const Impl> impl_;
  friend void gemm_u8s8s32(int32_t*, const uint8_t*, const PackedInt8Weights&, int64_t);
  friend class StaticInt8Gemm;
};

// acc[m, w.n()] = x[m, w.k()] · W^T, exact in int32 for x <= int8_activation_max(). Row-major, contiguous.
void gemm_u8s8s32(int32_t* acc, const uint8_t* x, const PackedInt8Weights& w, int64_t m);

// A static W8A8 GEMM with its output stage inside oneDNN's kernel: the input grid (scale, zero point)
// is fixed, so the dequantization scales are known when the primitive is made, and oneDNN's VNNI
// brgemm applies them, the bias and the epilogue (GELU, tanh, the residual sum) as it stores y, with
// no int32 buffer and no second pass. oneDNN adds the bias to the accumulator before scaling, so the
// zero point's correction rides in it: y = s[n] · (acc + b[n] / s[n] − z · Σ_k W[n, k]).
// (A run-time zero point or run-time scales make oneDNN 2.6 fall back to a slower gemm:jit kernel.)
class StaticInt8Gemm {
 public:
  // input_scale and input_zero_point: the activations' grid; weight_scales: one per output row.
  StaticInt8Gemm(PackedInt8Weights w, float input_scale, int32_t input_zero_point, const std::vector<float>& weight_scales);
  // y[m, N] = epilogue(dequantized x[m, K] · W^T + bias); x on the input grid; bias may be null.
  void run(float* y, const uint8_t* x, const float* bias, int64_t m, Epilogue epilogue) const;
  const PackedInt8Weights& weights() const { return weights_; }

 private:
  struct Primitives;
  PackedInt8Weights weights_;
  std::vector<float> output_scales_;  // input_scale · weight_scales[n]
  std::vector<double> zero_correction_;  // z · Σ_k W[n, k], exact
  std::shared_ptr<Primitives> primitives_;
};

}  // namespace squish
