#include "kernels/lowbit_scheme.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/dtype.h"
#include "core/error.h"

namespace squish {
namespace {

float round_to_half(float v) { return half_to_float(float_to_half(v)); }

// The smallest positive fp16 (a subnormal): a group's range so narrow its scale would round to 0
// keeps a usable grid.
constexpr float kSmallestHalf = 5.9604645e-8f;

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

GroupQuantized quantize_groups_rtn(const float* w, int64_t n, int64_t k, int bits, int64_t group_size) {
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
  for (int64_t r = 0; r < n; ++r)
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t first = r * k + g * group_size;
      const GroupParams p = group_params(w + first, group_size, bits);
      q.scales[static_cast<size_t>(r * groups + g)] = p.scale;
      q.minimums[static_cast<size_t>(r * groups + g)] = p.minimum;
      for (int64_t i = 0; i < group_size; ++i)
        q.codes[static_cast<size_t>(first + i)] = group_code(w[first + i], p, bits);
    }
  return q;
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
