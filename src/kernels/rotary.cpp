#include "kernels/rotary.h"

#include <cmath>

namespace squish {

RotaryTable::RotaryTable(int64_t head_dim, double theta, int64_t positions)
    : head_dim_(head_dim), positions_(positions) {
  const int64_t half = head_dim / 2;
  std::vector<float> inv_freq(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    inv_freq[static_cast<size_t>(i)] = static_cast<float>(1.0 / std::pow(theta, static_cast<double>(exponent)));
  }
  cos_.resize(static_cast<size_t>(positions * half));
  sin_.resize(cos_.size());
  for (int64_t p = 0; p < positions; ++p)
    for (int64_t i = 0; i < half; ++i) {
      const float angle = static_cast<float>(p) * inv_freq[static_cast<size_t>(i)];
      cos_[static_cast<size_t>(p * half + i)] = static_cast<float>(std::cos(static_cast<double>(angle)));
      sin_[static_cast<size_t>(p * half + i)] = static_cast<float>(std::sin(static_cast<double>(angle)));
    }
}

void apply_rotary(float* x, int64_t rows, int64_t row_stride, int64_t heads, const int32_t* positions,
                  const RotaryTable& table) {
  const int64_t hd = table.head_dim(), half = hd / 2;
#pragma omp parallel for schedule(static) if (rows * heads * hd > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    const float* c = table.cos_row(positions[r]);
    const float* s = table.sin_row(positions[r]);
    for (int64_t h = 0; h < heads; ++h) {
      float* a = x + r * row_stride + h * hd;
      float* b = a + half;
#pragma omp simd
      for (int64_t i = 0; i < half; ++i) {
        const float x1 = a[i], x2 = b[i];
        a[i] = x1 * c[i] - x2 * s[i];
        b[i] = x2 * c[i] + x1 * s[i];
      }
    }
  }
}

}  // namespace squish
