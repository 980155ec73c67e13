#include "quant/int8_scheme.h"

#include <algorithm>
#include <cmath>

namespace squish {

Int8Weights quantize_weights_s8(const Tensor& w, bool per_channel) {
  const int64_t n = w.dim(0), k = w.dim(1);
  Int8Weights out;
  out.q.resize(static_cast<size_t>(n * k));
  const int64_t groups = per_channel ? n : 1, group_size = per_channel ? k : n * k;
  out.scales.resize(static_cast<size_t>(groups));
  for (int64_t g = 0; g < groups; ++g) {
    const float* src = w.data() + g * group_size;
    float max_abs = 0.0f;
    for (int64_t i = 0; i < group_size; ++i) max_abs = std::max(max_abs, std::fabs(src[i]));
    const float scale = max_abs > 0 ? max_abs / 127.0f : 1.0f;
    out.scales[static_cast<size_t>(g)] = scale;
    for (int64_t i = 0; i < group_size; ++i)
      out.q[static_cast<size_t>(g * group_size + i)] =
          static_cast<int8_t>(std::clamp(std::nearbyint(src[i] / scale), -127.0f, 127.0f));
  }
  return out;
}

Tensor dequantize_weights_s8(const Int8Weights& w, int64_t n, int64_t k) {
  Tensor out({n, k});
  const bool per_channel = static_cast<int64_t>(w.scales.size()) == n && n > 1;
  for (int64_t r = 0; r < n; ++r) {
    const float scale = w.scales[static_cast<size_t>(per_channel ? r : 0)];
    for (int64_t c = 0; c < k; ++c) out.values[static_cast<size_t>(r * k + c)] = scale * w.q[static_cast<size_t>(r * k + c)];
  }
  return out;
}

U8Params u8_params(float lo, float hi, int qmax) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  if (hi - lo <= 0) return {1.0f, 0};
  const float scale = (hi - lo) / static_cast<float>(qmax);
  const auto zero_point = static_cast<int32_t>(std::clamp(std::nearbyint(-lo / scale), 0.0f, static_cast<float>(qmax)));
  return {scale, zero_point};
}

void quantize_rows_u8(const float* x, int64_t m, int64_t k, int qmax, uint8_t* q, float* scales, int32_t* zero_points) {
  // Plain loops the compiler vectorises: a min/max pass, then clamp and round half up by truncating
  // v + 0.5 (v >= 0 after the clamp). Half up rather than to even: exact ties do not occur in real
  // activations except at integers of the grid, which both rules keep.
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < m; ++r) {
    const float* row = x + r * k;
    float lo = row[0], hi = row[0];
    for (int64_t c = 1; c < k; ++c) {
      lo = row[c] < lo ? row[c] : lo;
      hi = row[c] > hi ? row[c] : hi;
    }
    const U8Params p = u8_params(lo, hi, qmax);
    scales[r] = p.scale;
    zero_points[r] = p.zero_point;
    const float inv = 1.0f / p.scale, zero = static_cast<float>(p.zero_point), top = static_cast<float>(qmax);
    uint8_t* out = q + r * k;
    for (int64_t c = 0; c < k; ++c) {
      float v = row[c] * inv + zero;
      v = v < 0.0f ? 0.0f : v;
      v = v > top ? top : v;
      out[c] = static_cast<uint8_t>(static_cast<int32_t>(v + 0.5f));
    }
  }
}

}  // namespace squish
