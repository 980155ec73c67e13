// GEMMs on packed low-bit weights: y[M,N] = epilogue(x[M,K] · W[N,K]^T + b) where W is held only in
// its compressed form (no fp32 copy): 2/4-bit groups (kernels/lowbit_scheme.h) or fp16.
//
// Low-bit groups run W4A8-style: each row of x is quantized on the fly to symmetric s8 (one scale
// per row, max|x| / 127; a row below 127 / FLT_MAX counts as zero), the integer products of a group are exact int32 dot
// products (u8 weight codes × s8 activations: vpdpbusd with AVX-512 VNNI, vpmaddubsw on AVX2, where codes ≤ 15 cannot
// saturate), and each group is finished in fp32:
//   y[m, n] = xs[m] · Σ_g ( scale[n, g] · Σ_{k∈g} code[n, k] · xq[m, k]  +  minimum[n, g] · Σ_{k∈g} xq[m, k] )
// fp16 weights are widened to fp32 in registers inside the multiply (outer products over panels of
// 32 columns, each output one fp32 FMA chain along K in order, so every ISA gives the same bits);
// gemm_f16 needs no workspace (its size is 0 and the pointer may be null).
// Packed layouts: kernels/lowbit_kernels.h. Work is split by rows and column tiles, never along a
// dot product, so results are bit-identical across thread counts.
// Scalar reference twins: kernels/reference/reference_ops.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/epilogue.h"
#include "kernels/lowbit_scheme.h"

namespace squish {

// Codes of W[N,K] packed for the low-bit kernel, with fp16 group scales and minimums.
// Immutable after packing; shareable across threads.
class PackedLowBitWeights {
 public:
  static PackedLowBitWeights pack(const GroupQuantized& q);
  int bits() const;
  int64_t group_size() const;
  int64_t n() const;
  int64_t k() const;
  // Resident bytes: packed codes plus group parameters (and anything else the kernel keeps).
  int64_t bytes() const;
  // Exactly what was packed.
  GroupQuantized unpack() const;
  // out[0, K) (+)= dequantized row r (embedding gathers).
  void add_row(int64_t r, float* out) const;
  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
  friend void gemm_lowbit(float*, const float*, const PackedLowBitWeights&, const float*, int64_t, Epilogue, void*);
  friend void gemm_lowbit_on(Isa, float*, const float*, const PackedLowBitWeights&, const float*, int64_t, Epilogue,
                             void*);
};

// Scratch gemm_lowbit needs for m rows (64-byte aligned, caller-owned).
int64_t gemm_lowbit_workspace_bytes(const PackedLowBitWeights& w, int64_t m);
void gemm_lowbit(float* y, const float* x, const PackedLowBitWeights& w, const float* bias, int64_t m,
                 Epilogue epilogue, void* workspace);
// The kernel gemm_lowbit() runs: AVX-512 VNNI (Isa::kAvx512) when the CPU has it and SQUISH_ISA
// allows AVX-512, else AVX2, else scalar.
Isa lowbit_isa();
// Whether this CPU can run the low-bit kernel of `isa` (kAvx512 means the VNNI kernel).
bool lowbit_isa_available(Isa isa);
// The integer kernels built like the low-bit ones (VNNI / AVX2 / scalar folders) pick their table
// for `isa`; UsageError naming `kernel` unless lowbit_isa_available(isa).
[[noreturn]] void throw_missing_integer_kernel(Isa isa, std::string_view kernel);
template <class Table>
const Table& integer_kernels_for(Isa isa, const Table& vnni, const Table& avx2, const Table& scalar,
                                 std::string_view kernel) {
  if (!lowbit_isa_available(isa)) throw_missing_integer_kernel(isa, kernel);
  return isa == Isa::kAvx512 ? vnni : isa == Isa::kAvx2 ? avx2 : scalar;
}
// gemm_lowbit on one ISA's kernel (tests, benchmarks); UsageError unless lowbit_isa_available(isa).
void gemm_lowbit_on(Isa isa, float* y, const float* x, const PackedLowBitWeights& w, const float* bias, int64_t m,
                    Epilogue epilogue, void* workspace);

// W[N,K] as fp16, in the kernel's panels (kernels/lowbit_kernels.h). Immutable; shareable across
// threads.
class PackedF16Weights {
 public:
  static PackedF16Weights pack(const uint16_t* halves, int64_t n, int64_t k);
  int64_t n() const;
  int64_t k() const;
  int64_t bytes() const;
  // The fp16 bit patterns [N, K], exactly.
  std::vector<uint16_t> unpack() const;
  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
  friend void gemm_f16(float*, const float*, const PackedF16Weights&, const float*, int64_t, Epilogue, void*);
  friend void gemm_f16_on(Isa, float*, const float*, const PackedF16Weights&, const float*, int64_t, Epilogue, void*);
};

// out[0, k) += halves[0, k) widened (a row of an fp16 embedding table, gathered).
void add_f16_row(float* out, const uint16_t* halves, int64_t k);

int64_t gemm_f16_workspace_bytes(const PackedF16Weights& w, int64_t m);
void gemm_f16(float* y, const float* x, const PackedF16Weights& w, const float* bias, int64_t m, Epilogue epilogue,
              void* workspace);
// gemm_f16 on one ISA's kernel (tests, benchmarks); UsageError when this CPU lacks it.
void gemm_f16_on(Isa isa, float* y, const float* x, const PackedF16Weights& w, const float* bias, int64_t m,
                 Epilogue epilogue, void* workspace);

}  // namespace squish
