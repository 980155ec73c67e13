#include "kernels/epilogue.h"

#include <cmath>

namespace squish {

void apply_epilogue(float* y, const float* acc, const float* bias, int64_t m, int64_t n, Epilogue epilogue) {
  constexpr float kInvSqrt2 = 0.70710678118654752f;
#pragma omp parallel for schedule(static) if (m * n > 65536)
  for (int64_t i = 0; i < m; ++i) {
    float* out = y + i * n;
    const float* in = acc + i * n;
    for (int64_t j = 0; j < n; ++j) {
      const float v = in[j] + (bias ? bias[j] : 0.0f);
      switch (epilogue) {
        case Epilogue::kNone: out[j] = v; break;
        case Epilogue::kGelu: out[j] = 0.5f * v * (1.0f + std::erf(v * kInvSqrt2)); break;
        case Epilogue::kTanh: out[j] = std::tanh(v); break;
        case Epilogue::kAccumulate: out[j] += v; break;
      }
    }
  }
}

}  // namespace squish
