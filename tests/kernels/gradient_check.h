// What the training-kernel tests share: seeded random inputs, the ISA variants this CPU can run,
// and central differences of a scalar loss for gradient checks.
// Finite-difference error model (stated once, used by every gradient test): the loss is computed
// in double from fp32 outputs of a reference forward, each rounded once (relative 2^-24), so
//   |fd − f'| <= roundoff + truncation = 2^-24 · Σ|w·out| / h + h² · |f'''| / 6,
// where Σ|w·out| is the loss's absolute mass. Tests pick h and a tolerance from that bound.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "kernels/cpu_features.h"

namespace squish::testing_support {

inline std::vector<float> random_vector(size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

inline std::vector<Isa> available_isas() {
  std::vector<Isa> out = {Isa::kScalar};
  const CpuFeatures& f = cpu_features();
  if (f.avx2 && f.fma) out.push_back(Isa::kAvx2);
  if (f.avx512f && f.avx512bw && f.avx512vl) out.push_back(Isa::kAvx512);
  return out;
}

// ∂loss/∂x[i] for every i, by central differences with step h. The step actually taken is
// (x + h) − (x − h) as fp32 represents them, so the rounding of x ± h costs nothing.
inline std::vector<double> central_differences(std::vector<float> x, const std::function<double(const std::vector<float>&)>& loss,
                                               float h) {
  std::vector<double> grad(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const float original = x[i];
    const float plus = original + h, minus = original - h;
    x[i] = plus;
    const double up = loss(x);
    x[i] = minus;
    const double down = loss(x);
    x[i] = original;
    grad[i] = (up - down) / (static_cast<double>(plus) - static_cast<double>(minus));
  }
  return grad;
}

// Σ w[i]·y[i] in double: the scalar loss whose gradient with respect to y is w.
inline double weighted_sum(const std::vector<float>& w, const std::vector<float>& y) {
  double sum = 0.0;
  for (size_t i = 0; i < y.size(); ++i) sum += static_cast<double>(w[i]) * y[i];
  return sum;
}

}  // namespace squish::testing_support
