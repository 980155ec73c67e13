// The body of every VectorOps variant. Included once per ISA by isa_*/vector_ops.cpp with
// SQUISH_ISA_NS set; the compiler vectorises the `omp simd` loops for that ISA's -m flags.
// exp is vector_math_impl.h's polynomial rather than a libm call so that the softmax loop
// vectorises on every ISA. Accuracy is a few ulp; tests bound it.
#include <cmath>
#include <cstdint>

#include "kernels/vector_math_impl.h"
#include "kernels/vector_ops.h"

namespace squish::SQUISH_ISA_NS {

static void layernorm(float* y, const float* x, const float* gamma, const float* beta, int64_t rows, int64_t n,
                      float eps) {
#pragma omp parallel for schedule(static) if (rows * n > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    float mean, rstd;
    layernorm_row(y + r * n, x + r * n, gamma, beta, n, eps, mean, rstd);
  }
}

static void masked_softmax(float* s, int64_t rows, int64_t cols, int64_t valid, float scale) {
#pragma omp parallel for schedule(static) if (rows * cols > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    float* row = s + r * cols;
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < valid; ++j) mx = row[j] > mx ? row[j] : mx;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < valid; ++j) {
      const float e = exp_nonpositive((row[j] - mx) * scale);
      row[j] = e;
      sum += e;
    }
    const float inv = 1.0f / sum;
#pragma omp simd
    for (int64_t j = 0; j < valid; ++j) row[j] *= inv;
    for (int64_t j = valid; j < cols; ++j) row[j] = 0.0f;
  }
}

static void min_max(const float* x, int64_t n, float* lo, float* hi) {
  float mn = x[0], mx = x[0];
#pragma omp simd reduction(min : mn) reduction(max : mx)
  for (int64_t i = 0; i < n; ++i) {
    mn = x[i] < mn ? x[i] : mn;
    mx = x[i] > mx ? x[i] : mx;
  }
  *lo = mn;
  *hi = mx;
}

// Clamped first, so v >= 0 and truncating v + 0.5 rounds half up. Half up rather than to even:
// exact ties do not occur in real activations except at integers of the grid, which both rules keep.
static void quantize_u8(const float* x, int64_t n, float inv_scale, float zero_point, float qmax, uint8_t* q) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i] * inv_scale + zero_point;
    v = v < 0.0f ? 0.0f : v;
    v = v > qmax ? qmax : v;
    q[i] = static_cast<uint8_t>(static_cast<int32_t>(v + 0.5f));
  }
}

static void dequantize_row(float* y, const int32_t* acc, float row_scale, int32_t row_zero_point, const float* col_scales,
                           const int32_t* col_sums, const float* bias, int64_t n, bool accumulate) {
  if (accumulate) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j)
      y[j] += row_scale * col_scales[j] * static_cast<float>(acc[j] - row_zero_point * col_sums[j]) + (bias ? bias[j] : 0.0f);
  } else {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j)
      y[j] = row_scale * col_scales[j] * static_cast<float>(acc[j] - row_zero_point * col_sums[j]) + (bias ? bias[j] : 0.0f);
  }
}

// HF LlamaRMSNorm in fp32: y = x / sqrt(mean(x²) + eps) * gamma.
static void rmsnorm(float* y, const float* x, const float* gamma, int64_t rows, int64_t n, float eps) {
#pragma omp parallel for schedule(static) if (rows * n > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    float sq = 0.0f;
#pragma omp simd reduction(+ : sq)
    for (int64_t i = 0; i < n; ++i) sq += xr[i] * xr[i];
    const float inv = 1.0f / std::sqrt(sq / static_cast<float>(n) + eps);
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) yr[i] = gamma[i] * (xr[i] * inv);
  }
}

// SwiGLU: y[r, j] = silu(gate[r, j]) * up[r, j], gate_up rows [gate (n) | up (n)]. The sigmoid takes
// exp of -|g| only, which exp_nonpositive covers, and is exact in both tails.
static void silu_mul(float* y, const float* gate_up, int64_t rows, int64_t n) {
#pragma omp parallel for schedule(static) if (rows * n > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = gate_up + r * 2 * n;
    const float* u = g + n;
    float* yr = y + r * n;
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) {
      const float e = exp_nonpositive(-std::fabs(g[j]));
      const float sigmoid = g[j] >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
      yr[j] = g[j] * sigmoid * u[j];
    }
  }
}

static float log_sum_exp(const float* x, int64_t n) {
  float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
  for (int64_t j = 0; j < n; ++j) mx = x[j] > mx ? x[j] : mx;
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < n; ++j) sum += exp_nonpositive(x[j] - mx);
  return mx + std::log(sum);
}

extern const VectorOps kVectorOps;  // external linkage: vector_ops.cpp picks it by ISA
const VectorOps kVectorOps = {layernorm,      masked_softmax, min_max,  quantize_u8,
                              dequantize_row, rmsnorm,        silu_mul, log_sum_exp};

}  // namespace squish::SQUISH_ISA_NS
