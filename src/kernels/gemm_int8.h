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
};

// acc[m, w.n()] = x[m, w.k()] · W^T, exact in int32 for x <= int8_activation_max(). Row-major, contiguous.
void gemm_u8s8s32(int32_t* acc, const uint8_t* x, const PackedInt8Weights& w, int64_t m);

}  // namespace squish
