// fp32 GEMMs of the Linear layers: y[M,N] = x[M,K] · W[N,K]^T + b[N], then an epilogue, through
// oneDNN's matmul with W packed once, at load time, into the blocked layout oneDNN's brgemm kernel
// wants (repacking per call would cost as much as the multiply for small M). oneDNN picks its own
// ISA at run time (AVX-512 or AVX2), capped by SQUISH_ISA like squish's own kernels.
// Compiled primitives are cached per packed weight by (M, bias, epilogue), at most
// kPrimitivesPerWeight of them (kernels/dnnl_context.h says why).
// Not here: int8 and low-bit GEMMs (quantized Linear, later), attention's batched products (attention.h).
#pragma once

#include <cstdint>
#include <memory>

#include "kernels/epilogue.h"

namespace squish {

inline constexpr int kPrimitivesPerWeight = 8;

// W[N,K] (PyTorch nn.Linear layout) packed for oneDNN. Immutable after packing; shareable across threads.
class PackedWeights {
 public:
  static PackedWeights pack(const float* w, int64_t n, int64_t k);
  int64_t n() const { return n_; }
  int64_t k() const { return k_; }
  // The packed bytes oneDNN holds (its blocked layout may pad N and K).
  int64_t bytes() const;
  // W back in [N,K] row-major order, exactly (a reorder, no arithmetic).
  void unpack(float* w) const;
  // Primitives cached now, for tests of the bound.
  int cached_primitives() const;
  struct Impl;

 private:
  int64_t n_ = 0, k_ = 0;
  std::shared_ptr<const Impl> impl_;
  friend void gemm_packed(float*, const float*, const PackedWeights&, const float*, int64_t, Epilogue);
};

// y[m, w.n()] from x[m, w.k()]; bias may be null. Row-major, contiguous.
void gemm_packed(float* y, const float* x, const PackedWeights& w, const float* bias, int64_t m, Epilogue epilogue);

// Batched products for attention, every operand given by strides (in floats):
//   c[n][i][j] = sum_p a[n][i][p] * bmat[n][p][j]      for n < batch
// so per-head views of a [T, 3H] buffer need no copy.
struct StridedMatrix {
  const float* data;
  int64_t stride_batch, stride_row, stride_col;
};
void batched_gemm(float* c, const int64_t c_strides[3], const StridedMatrix& a, const StridedMatrix& b, int64_t batch,
                  int64_t m, int64_t n, int64_t k);

}  // namespace squish
