// The body of every TrainingRowOps variant. Included once per ISA by isa_*/training_row_ops.cpp
// with SQUISH_ISA_NS set; the `omp simd` loops vectorise under that ISA's -m flags, erf and exp
// included (vector_math_impl.h), which is what makes GELU cheap: std::erf would not vectorise.
#include <cmath>
#include <cstdint>

#include "kernels/training_row_ops.h"
#include "kernels/vector_math_impl.h"

namespace squish::SQUISH_ISA_NS {

constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

static void gelu_forward(float* y, const float* x, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = 0.5f * x[i] * one_plus_erf(x[i] * kInvSqrt2);
}

static void gelu_backward(float* dx, const float* dy, const float* x, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float cdf = 0.5f * one_plus_erf(v * kInvSqrt2);
    const float pdf = kInvSqrt2Pi * exp_nonpositive(-0.5f * v * v);
    dx[i] = dy[i] * (cdf + v * pdf);
  }
}

static void layernorm_forward(float* y, float* mean, float* rstd, const float* x, const float* gamma,
                              const float* beta, int64_t rows, int64_t n, float eps) {
  for (int64_t r = 0; r < rows; ++r) layernorm_row(y + r * n, x + r * n, gamma, beta, n, eps, mean[r], rstd[r]);
}

// dx = rstd · (g − mean(g) − x̂ · mean(g·x̂)) with g = dy·gamma. The parameter sums are taken in the
// first pass, before dx (which may alias dy) is written.
static void layernorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                               const float* mean, const float* rstd, const float* gamma, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    const float* dyr = dy + r * n;
    float* dxr = dx + r * n;
    const float mu = mean[r], inv = rstd[r];
    float sum_g = 0.0f, sum_gx = 0.0f;
#pragma omp simd reduction(+ : sum_g, sum_gx)
    for (int64_t i = 0; i < n; ++i) {
      const float xhat = (xr[i] - mu) * inv;
      const float g = dyr[i] * gamma[i];
      sum_g += g;
      sum_gx += g * xhat;
      dgamma[i] += dyr[i] * xhat;
      dbeta[i] += dyr[i];
    }
    const float mean_g = sum_g / static_cast<float>(n), mean_gx = sum_gx / static_cast<float>(n);
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      const float xhat = (xr[i] - mu) * inv;
      dxr[i] = inv * (dyr[i] * gamma[i] - mean_g - xhat * mean_gx);
    }
  }
}

static void softmax_backward(float* ds, const float* dp, const float* p, int64_t rows, int64_t cols, int64_t valid,
                             float scale) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* dpr = dp + r * cols;
    const float* pr = p + r * cols;
    float* dsr = ds + r * cols;
    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
    for (int64_t j = 0; j < valid; ++j) dot += dpr[j] * pr[j];
#pragma omp simd
    for (int64_t j = 0; j < valid; ++j) dsr[j] = scale * pr[j] * (dpr[j] - dot);
    for (int64_t j = valid; j < cols; ++j) dsr[j] = 0.0f;
  }
}

extern const TrainingRowOps kTrainingRowOps;  // external linkage: training_row_ops.cpp picks it by ISA
const TrainingRowOps kTrainingRowOps = {gelu_forward, gelu_backward, layernorm_forward, layernorm_backward,
                                        softmax_backward};

}  // namespace squish::SQUISH_ISA_NS
