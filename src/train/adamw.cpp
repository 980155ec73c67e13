#include "train/adamw.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace squish {

AdamW::AdamW(std::shared_ptr<const ParameterLayout> layout, AdamWOptions options)
    : options_(options), m_(layout), v_(layout) {}

void AdamW::restore(std::span<const float> m, std::span<const float> v, int64_t steps) {
  if (static_cast<int64_t>(m.size()) != m_.floats() || static_cast<int64_t>(v.size()) != v_.floats())
    throw ShapeError("AdamW state: moments of " + std::to_string(m.size()) + " and " + std::to_string(v.size()) +
                     " values for " + std::to_string(m_.floats()) + " parameters");
  std::copy(m.begin(), m.end(), m_.all());
  std::copy(v.begin(), v.end(), v_.all());
  steps_ = steps;
}

void AdamW::step(ParameterBuffer& params, const ParameterBuffer& grads, double lr) {
  if (params.floats() != m_.floats() || grads.floats() != m_.floats())
    throw Error(ExitCode::kInternal, "AdamW::step: parameters of another layout");
  ++steps_;
  const double t = static_cast<double>(steps_);
  const float b2 = static_cast<float>(options_.beta2);
  const float one_minus_b1 = static_cast<float>(1.0 - options_.beta1), one_minus_b2 = static_cast<float>(1.0 - options_.beta2);
  const float step_size = static_cast<float>(lr / (1.0 - std::pow(options_.beta1, t)));
  const float bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(options_.beta2, t)));
  const float eps = static_cast<float>(options_.eps);
  const float decay_factor = static_cast<float>(1.0 - lr * options_.weight_decay);
  for (const ParameterTensor& tensor : params.layout().tensors()) {
    const float decay = tensor.decays() ? decay_factor : 1.0f;
    float* p = params.all() + tensor.offset;
    const float* g = grads.all() + tensor.offset;
    float* m = m_.all() + tensor.offset;
    float* v = v_.all() + tensor.offset;
    const int64_t n = tensor.numel();
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const float gi = g[i];
      m[i] = m[i] + one_minus_b1 * (gi - m[i]);  // torch's lerp(m, g, 1 − β1) for weights below 0.5
      v[i] = b2 * v[i] + one_minus_b2 * gi * gi;
      const float denom = std::sqrt(v[i]) / bc2_sqrt + eps;
      p[i] = p[i] * decay - step_size * (m[i] / denom);
    }
  }
}

}  // namespace squish
