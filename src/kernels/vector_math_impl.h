// Elementary functions as branch-free float polynomials, for the per-ISA impl headers
// (vector_ops_impl.h, training_row_ops_impl.h) to include inside their SQUISH_ISA_NS namespace so
// each is compiled, inlined and vectorised under that ISA's -m flags. glibc's vector math only
// exists under -ffast-math, which would also drop squish's handling of infinities.
// Not a general libm: each function states the range it is accurate on.
#pragma once

#ifndef SQUISH_ISA_NS
#error "define SQUISH_ISA_NS before including vector_math_impl.h"
#endif

#include <bit>
#include <cmath>
#include <cstdint>

namespace squish::SQUISH_ISA_NS {

// exp(x) for x <= 0 down to -inf (softmax only feeds it x - max): Cody-Waite range reduction to
// x = n ln2 + r, |r| <= ln2/2, then a degree-6 polynomial for e^r; 2^n assembled in the exponent bits.
static inline float exp_nonpositive(float x) {
  x = x < -87.0f ? -87.0f : x;  // e^-87 ~ 1.6e-38: keeps 2^n a normal float; smaller results flush to ~0
  const float n = std::nearbyint(x * 1.44269504088896341f);
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  return p * std::bit_cast<float>(bits);
}

// 1 + erf(z) for any finite z, the form GELU needs (Φ(x) = (1 + erf(x/√2)) / 2). Minimax
// polynomials by N. Juffa (erff, max error < 1 ulp in his measurements; ~1.5 ulp here with this
// exp): for |z| <= 0.9277, erf = z + z·p(z²); beyond it, erf = ±(1 − e^q(|z|)). Returning 1 + erf
// rather than erf keeps the negative tail as e^q itself instead of 1 − (1 − e^q), which would cancel
// to an absolute error of 6e-8 (GELU of x = −4 is −1.3e-4: a 1e-3 relative error); this way the
// tail keeps ~1e-5 relative error to |z| = 4.
static inline float one_plus_erf(float z) {
  const float t = std::fabs(z), s = z * z;
  float inner = -5.96761703e-4f;
  inner = inner * s + 4.99119423e-3f;
  inner = inner * s + -2.67681349e-2f;
  inner = inner * s + 1.12819925e-1f;
  inner = inner * s + -3.76125336e-1f;
  inner = inner * s + 1.28379166e-1f;
  inner = 1.0f + (inner * z + z);
  float q = -1.72853470e-5f * t + 3.83197126e-4f;
  const float u = -3.88396438e-3f * t + 2.42546219e-2f;
  q = q * s + u;
  q = q * t + -1.06777877e-1f;
  q = q * t + -6.34846687e-1f;
  q = q * t + -1.28717512e-1f;
  q = q * t + -t;
  const float tail = exp_nonpositive(q);  // erfc(|z|)
  const float outer = z < 0.0f ? tail : 2.0f - tail;
  return t > 0.927734375f ? outer : inner;
}

// One LayerNorm row, the same for inference (vector_ops) and training (training_row_ops) so the two
// forwards agree bit for bit: two passes over the row (mean, then squared deviations) rather than
// E[x²] − E[x]², which cancels for activations whose mean is large against their spread. Returns
// the mean and 1/sqrt(var + eps) for the backward.
static inline void layernorm_row(float* yr, const float* xr, const float* gamma, const float* beta, int64_t n, float eps,
                                 float& mean, float& rstd) {
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) sum += xr[i];
  const float mu = sum / static_cast<float>(n);
  float sq = 0.0f;
#pragma omp simd reduction(+ : sq)
  for (int64_t i = 0; i < n; ++i) sq += (xr[i] - mu) * (xr[i] - mu);
  const float inv = 1.0f / std::sqrt(sq / static_cast<float>(n) + eps);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - mu) * inv * gamma[i] + beta[i];
  mean = mu;
  rstd = inv;
}

}  // namespace squish::SQUISH_ISA_NS
