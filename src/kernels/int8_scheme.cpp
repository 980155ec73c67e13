#include "kernels/int8_scheme.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "kernels/vector_ops.h"

namespace squish {

int8_t round_to_s8(float v) { return static_cast<int8_t>(std::clamp(std::nearbyint(v), -127.0f, 127.0f)); }

Int8Weights quantize_weights_s8(const Tensor& w, WeightGranularity granularity, std::span<const int64_t> tensor_rows) {
  const int64_t n = w.dim(0), k = w.dim(1);
  std::vector<int64_t> groups;
  if (granularity == WeightGranularity::kPerChannel) groups.assign(static_cast<size_t>(n), 1);
  else if (tensor_rows.empty()) groups = {n};
  else groups.assign(tensor_rows.begin(), tensor_rows.end());
  int64_t covered = 0;
  for (int64_t g : groups) covered += g;
  if (covered != n)
    throw Error(ExitCode::kInternal, "quantize_weights_s8: tensors cover " + std::to_string(covered) + " of " +
                                         std::to_string(n) + " rows");
  Int8Weights out;
  out.scales.resize(static_cast<size_t>(n));
  int64_t row = 0;
  for (int64_t g : groups) {
    const float* src = w.data() + row * k;
    float max_abs = 0.0f;
    for (int64_t i = 0; i < g * k; ++i) max_abs = std::max(max_abs, std::fabs(src[i]));
    std::fill_n(out.scales.begin() + row, g, max_abs > 0 ? max_abs / 127.0f : 1.0f);
    row += g;
  }
  out.q = quantize_weights_with_scales(w, out.scales);
  return out;
}

std::vector<int8_t> quantize_weights_with_scales(const Tensor& w, std::span<const float> scales) {
  const int64_t n = w.dim(0), k = w.dim(1);
  std::vector<int8_t> q(static_cast<size_t>(n * k));
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c)
      q[static_cast<size_t>(r * k + c)] = round_to_s8(w.values[static_cast<size_t>(r * k + c)] / scales[static_cast<size_t>(r)]);
  return q;
}

Tensor dequantize_weights_s8(const Int8Weights& w, int64_t n, int64_t k) {
  Tensor out({n, k});
  for (int64_t r = 0; r < n; ++r) {
    const float scale = w.scales[static_cast<size_t>(r)];
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
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < m; ++r) {
    const float* row = x + r * k;
    float lo, hi;
    vector_ops().min_max(row, k, &lo, &hi);
    const U8Params p = u8_params(lo, hi, qmax);
    scales[r] = p.scale;
    zero_points[r] = p.zero_point;
    vector_ops().quantize_u8(row, k, 1.0f / p.scale, static_cast<float>(p.zero_point), static_cast<float>(qmax), q + r * k);
  }
}

void quantize_u8(const float* x, int64_t n, U8Params p, int qmax, uint8_t* q) {
  constexpr int64_t kChunk = 16384;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  const float inv = 1.0f / p.scale, zero = static_cast<float>(p.zero_point), top = static_cast<float>(qmax);
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * kChunk;
    vector_ops().quantize_u8(x + begin, std::min(kChunk, n - begin), inv, zero, top, q + begin);
  }
}

}  // namespace squish
