#include "kernels/lowbit_scheme.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/dtype.h"
#include "core/error.h"
#include "core/parallel.h"

namespace squish {
namespace {

float round_to_half(float v) { return half_to_float(float_to_half(v)); }

// The smallest positive fp16 (a subnormal): a group's range so narrow its scale would round to 0
// keeps a usable grid.
constexpr float kSmallestHalf = 5.9604645e-8f;

// Ranges from the full one down to half of it: below half, 2-bit groups of Gaussian-like weights
// only get worse (the clipped tails cost more than the finer grid saves).
constexpr int kShrinkSteps = 20;
constexpr float kSmallestShrink = 0.5f;

double squared_error(const float* w, int64_t count, GroupParams p, int bits) {
  double error = 0;
  for (int64_t i = 0; i < count; ++i) {
    const double d = static_cast<double>(w[i]) - (p.scale * static_cast<float>(group_code(w[i], p, bits)) + p.minimum);
    error += d * d;
  }
  return error;
}

// The least-squares scale and minimum for the codes `p` gives the group (w ≈ scale · code + minimum),
// rounded to fp16; `p` itself when the codes are all equal or the fit is not a usable grid.
GroupParams refit(const float* w, int64_t count, GroupParams p, int bits) {
  double sum_c = 0, sum_w = 0, sum_cc = 0, sum_cw = 0;
  for (int64_t i = 0; i < count; ++i) {
    const double c = group_code(w[i], p, bits);
    sum_c += c;
    sum_w += w[i];
    sum_cc += c * c;
    sum_cw += c * w[i];
  }
  const double n = static_cast<double>(count);
  const double spread = n * sum_cc - sum_c * sum_c;
  if (spread <= 0) return p;
  const double scale = (n * sum_cw - sum_c * sum_w) / spread;
  const float scale_half = round_to_half(static_cast<float>(scale));
  if (!(scale_half >= kSmallestHalf) || !std::isfinite(scale_half)) return p;
  return {scale_half, round_to_half(static_cast<float>((sum_w - scale * sum_c) / n))};
}

}  // namespace

GroupParams group_params(const float* w, int64_t count, int bits) {
  const auto [lo, hi] = std::minmax_element(w, w + count);
  const float minimum = round_to_half(*lo);
  if (*hi == *lo) return {1.0f, minimum};
  const float scale = std::max(round_to_half((*hi - *lo) / static_cast<float>(max_code(bits))), kSmallestHalf);
  return {scale, minimum};
}

uint8_t group_code(float w, GroupParams p, int bits) {
  const float code = std::nearbyint((w - p.minimum) / p.scale);
  return static_cast<uint8_t>(std::clamp(code, 0.0f, static_cast<float>(max_code(bits))));
}

GroupParams group_params_mse(const float* w, int64_t count, int bits) {
  GroupParams best = group_params(w, count, bits);
  double best_error = squared_error(w, count, best, bits);
  const auto [lo, hi] = std::minmax_element(w, w + count);
  const float range = *hi - *lo;
  if (range == 0) return best;
  auto consider = [&](GroupParams candidate) {
    const double error = squared_error(w, count, candidate, bits);
    if (error < best_error) {
      best_error = error;
      best = candidate;
    }
  };
  consider(refit(w, count, best, bits));
  // Clipping the top, the bottom or both ends: a group whose outliers sit on one side keeps its
  // other end exact.
  for (int step = 1; step <= kShrinkSteps; ++step) {
    const float kept = range * (1.0f - (1.0f - kSmallestShrink) * static_cast<float>(step) / kShrinkSteps);
    const float scale = std::max(round_to_half(kept / static_cast<float>(max_code(bits))), kSmallestHalf);
    for (const float first : {*lo, *lo + 0.5f * (range - kept), *hi - kept}) {
      const GroupParams clipped{scale, round_to_half(first)};
      consider(clipped);
      consider(refit(w, count, clipped, bits));
    }
  }
  return best;
}

GroupQuantized quantize_groups_rtn(const float* w, int64_t n, int64_t k, int bits, int64_t group_size,
                                   GroupRange range) {
  if (!is_group_bits(bits))
    throw ShapeError("group quantization: " + std::to_string(bits) + " bits (expected 2, 3 or 4)");
  if (group_size <= 0 || k % group_size != 0)
    throw ShapeError("group quantization: group size " + std::to_string(group_size) +
                     " does not divide the input dimension " + std::to_string(k));
  GroupQuantized q;
  q.bits = bits;
  q.group_size = group_size;
  q.n = n;
  q.k = k;
  q.codes.resize(static_cast<size_t>(n * k));
  const int64_t groups = k / group_size;
  q.scales.resize(static_cast<size_t>(n * groups));
  q.minimums.resize(static_cast<size_t>(n * groups));
  parallel_for(n, [&](int64_t r) {
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t first = r * k + g * group_size;
      const GroupParams p = range == GroupRange::kMseSearch ? group_params_mse(w + first, group_size, bits)
                                                            : group_params(w + first, group_size, bits);
      q.scales[static_cast<size_t>(r * groups + g)] = p.scale;
      q.minimums[static_cast<size_t>(r * groups + g)] = p.minimum;
      for (int64_t i = 0; i < group_size; ++i)
        q.codes[static_cast<size_t>(first + i)] = group_code(w[first + i], p, bits);
    }
  });
  return q;
}

void match_row_norms(GroupQuantized& q, const float* w) {
  const int64_t groups = q.groups_per_row();
  parallel_for(q.n, [&](int64_t r) {
    double target = 0, quantized = 0;
    for (int64_t c = 0; c < q.k; ++c) {
      const size_t g = static_cast<size_t>(r * groups + c / q.group_size);
      const double v = q.scales[g] * static_cast<float>(q.codes[static_cast<size_t>(r * q.k + c)]) + q.minimums[g];
      target += static_cast<double>(w[r * q.k + c]) * w[r * q.k + c];
      quantized += v * v;
    }
    if (quantized == 0 || target == 0) return;
    const float factor = static_cast<float>(std::sqrt(target / quantized));
    for (int64_t g = r * groups; g < (r + 1) * groups; ++g) {
      const size_t i = static_cast<size_t>(g);
      q.scales[i] = std::max(round_to_half(q.scales[i] * factor), kSmallestHalf);
      q.minimums[i] = round_to_half(q.minimums[i] * factor);
    }
  });
}

void dequantize_groups(const GroupQuantized& q, float* w) {
  const int64_t groups = q.groups_per_row();
  for (int64_t r = 0; r < q.n; ++r)
    for (int64_t c = 0; c < q.k; ++c) {
      const size_t g = static_cast<size_t>(r * groups + c / q.group_size);
      w[r * q.k + c] = q.scales[g] * static_cast<float>(q.codes[static_cast<size_t>(r * q.k + c)]) + q.minimums[g];
    }
}

}  // namespace squish
