#include "train/schedule.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace squish {

LinearSchedule LinearSchedule::with_warmup_ratio(double lr, double warmup_ratio, int64_t total_steps) {
  return {lr, static_cast<int64_t>(std::ceil(warmup_ratio * static_cast<double>(total_steps))), total_steps};
}

double LinearSchedule::rate(int64_t step) const {
  if (step < warmup_steps) return lr * static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup_steps));
  return lr * std::max(0.0, static_cast<double>(total_steps - step) /
                                static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps)));
}

double clip_gradients(ParameterBuffer& grads, double max_norm) {
  // Fixed chunks, each summed by one thread, then the chunks in order.
  constexpr int64_t kChunk = 1 << 16;
  const int64_t n = grads.floats();
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
  const float* g = grads.all();
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    double s = 0;
    for (int64_t i = c * kChunk; i < std::min(n, (c + 1) * kChunk); ++i) s += static_cast<double>(g[i]) * g[i];
    partial[static_cast<size_t>(c)] = s;
  }
  double sum = 0;
  for (double s : partial) sum += s;
  const double norm = std::sqrt(sum);
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0) {
    const auto scale = static_cast<float>(coef);
    float* gw = grads.all();
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) gw[i] *= scale;
  }
  return norm;
}

}  // namespace squish
