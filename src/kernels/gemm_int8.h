// Int8 GEMMs for quantized Linears: acc[M,N] = x[M,K] · W[N,K]^T with x unsigned 8-bit, W signed
// 8-bit and exact int32 accumulation, for every u8 and every s8 in [-127, 127], on every ISA: the
// codes a saved model stores mean one computation everywhere (docs/quantization.md, "One meaning
// per file").
//
// Why u8×s8: AVX-512 VNNI's vpdpbusd multiplies unsigned by signed bytes, so activations are
// quantized to u8 with a zero point and weights to symmetric s8. The zero point comes back out with
// each weight row's sum: Σ_k (x - z)·w = acc - z · Σ_k w, the row sums computed once at packing.
//
// The back end is chosen when the weights are packed, from the ISA (int8_isa()) and the largest
// activation code the weights will meet (kActivationQmax, or kReducedActivationQmax for a
// reduced-range model):
//  - kAvx512: oneDNN's u8×s8 matmul with VNNI (vpdpbusd accumulates in int32: exact);
//  - kAvx2, codes up to kVpmaddubswExactMax: oneDNN's u8×s8 matmul on AVX2, whose vpmaddubsw sums
//    two u8·s8 products in int16, exact only while 2 · x · 127 ≤ 32767;
//  - kAvx2, full range: squish's own kernel (int8_kernels.h), both sides widened to int16 and
//    multiplied with vpmaddwd (exact for every u8; 0.71–0.81× oneDNN's speed, bench/results/int8_avx2.md);
//  - kScalar: the same layout in plain loops.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/epilogue.h"
#include "kernels/int8_scheme.h"

namespace squish {

// The back end new weights are packed for: kAvx512 (oneDNN, VNNI) when the CPU has AVX-512 VNNI and
// SQUISH_ISA allows AVX-512, else kAvx2 when allowed and present, else kScalar.
Isa int8_isa();
// The largest u8 code oneDNN's AVX2 int8 kernel multiplies exactly (vpmaddubsw: 2 · 129 · 127 ≤ 32767).
inline constexpr int kVpmaddubswExactMax = 129;

// Whether this CPU can run the int8 back end of `isa` (kAvx512 means oneDNN with VNNI, which also
// needs SQUISH_ISA to allow AVX-512, since it caps oneDNN too).
bool int8_isa_available(Isa isa);

// W[N,K] int8 (PyTorch nn.Linear layout) packed for one back end, with its row sums. Immutable after
// packing; shareable across threads.
class PackedInt8Weights {
 public:
  // For activations up to activation_qmax. UsageError unless int8_isa_available(isa).
  static PackedInt8Weights pack(const int8_t* w, int64_t n, int64_t k, int activation_qmax = kActivationQmax,
                                Isa isa = int8_isa());
  Isa isa() const;
  // Whether oneDNN runs the product (VNNI, or AVX2 on a reduced range), else squish's pair tiles.
  bool on_onednn() const;
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
  friend void gemm_u8s8_dequant(float*, const uint8_t*, const PackedInt8Weights&, const float*, const int32_t*,
                                const float*, const float*, int64_t, Epilogue, int32_t*);
  friend class StaticInt8Gemm;
};

// acc[m, w.n()] = x[m, w.k()] · W^T, exact in int32, on the back end w was packed for. Row-major, contiguous.
void gemm_u8s8s32(int32_t* acc, const uint8_t* x, const PackedInt8Weights& w, int64_t m);

// The int8 GEMM and apply_dequant_epilogue() (kernels/epilogue.h) in one call:
//   y[i, j] = epilogue(row_scales[i] · col_scales[j] · (acc[i, j] − row_zero_points[i] · Σ_k W[j, k]) + bias[j]).
// The pair-tile back ends dequantize each tile as they store it (no int32 buffer, one pass less);
// on oneDNN (w.on_onednn()) the int32 products go to acc_scratch ([m, N], unused otherwise, may then
// be null) and are dequantized after. bias may be null.
void gemm_u8s8_dequant(float* y, const uint8_t* x, const PackedInt8Weights& w, const float* row_scales,
                       const int32_t* row_zero_points, const float* col_scales, const float* bias, int64_t m,
                       Epilogue epilogue, int32_t* acc_scratch);

// A static W8A8 GEMM: the input grid (scale, zero point) is fixed when the model loads. On oneDNN
// (VNNI, or AVX2 on a reduced range) its output stage runs inside oneDNN's kernel: the
// dequantization scales are known when the primitive is made, and oneDNN's brgemm applies them, the
// bias and the epilogue (GELU, tanh, ReLU, the residual sum) as it stores y, with no int32 buffer and no
// second pass. oneDNN adds the bias to the accumulator before scaling, so the zero point's
// correction rides in it: y = s[n] · (acc + b[n] / s[n] − z · Σ_k W[n, k]). (A run-time zero point
// or run-time scales make oneDNN 2.6 fall back to a slower gemm:jit kernel.) The other back ends run
// gemm_u8s8_dequant(): the same function to within fp32 rounding.
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
  float input_scale_;
  int32_t input_zero_point_;
  std::vector<float> weight_scales_;
  std::vector<float> output_scales_;  // input_scale · weight_scales[n]
  std::vector<double> zero_correction_;  // z · Σ_k W[n, k], exact
  std::shared_ptr<Primitives> primitives_;
};

}  // namespace squish
