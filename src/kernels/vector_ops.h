// Row-wise kernels around the GEMMs: LayerNorm and masked softmax. (GELU, tanh and the residual
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
};

const VectorOps& vector_ops();                 // for active_isa()
const VectorOps& vector_ops_for(Isa isa);      // a given variant (tests, benchmarks)

}  // namespace squish
