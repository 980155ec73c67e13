// The per-ISA inner loops of the training kernels: erf GELU and its derivative, LayerNorm keeping
// its statistics and its backward, and the softmax backward of attention. Like vector_ops.h, one
// source (training_row_ops_impl.h) is compiled under isa_avx512/, isa_avx2/, isa_scalar/ and the
// variant for active_isa() is chosen on first use.
// Each function is serial over the block it is given: the callers (training_ops.cpp,
// attention_training.cpp) split rows across threads, and block the column sums of the LayerNorm
// backward so that its result does not depend on the thread count.
// Not here: the public kernels and their contracts (training_ops.h); the forward softmax, which is
// VectorOps::masked_softmax.
#pragma once

#include <cstdint>

#include "kernels/cpu_features.h"

namespace squish {

struct TrainingRowOps {
  // y[i] = x[i]/2 · (1 + erf(x[i]/√2)).
  void (*gelu_forward)(float* y, const float* x, int64_t n);
  // dx[i] = dy[i] · (Φ(x[i]) + x[i]·φ(x[i])); dx may alias dy.
  void (*gelu_backward)(float* dx, const float* dy, const float* x, int64_t n);
  // `rows` rows of LayerNorm, mean[r] and rstd[r] written (training_ops.h layernorm_forward).
  void (*layernorm_forward)(float* y, float* mean, float* rstd, const float* x, const float* gamma,
                            const float* beta, int64_t rows, int64_t n, float eps);
  // dx for `rows` rows (written; may alias dy), and dgamma[j] += Σ_r dy·x̂, dbeta[j] += Σ_r dy over
  // these rows in row order.
  void (*layernorm_backward)(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                             const float* mean, const float* rstd, const float* gamma, int64_t rows, int64_t n);
  // Softmax backward over `rows` rows of `cols` (row stride `cols`), scaled:
  //   ds[j] = scale · p[j] · (dp[j] − Σ_k dp[k]·p[k]) for j < valid, 0 after (p is 0 there).
  // ds may alias dp.
  void (*softmax_backward)(float* ds, const float* dp, const float* p, int64_t rows, int64_t cols, int64_t valid,
                           float scale);
};

const TrainingRowOps& training_row_ops();             // for active_isa()
const TrainingRowOps& training_row_ops_for(Isa isa);  // a given variant (tests, benchmarks)

}  // namespace squish
