// What the int8 attention tests (encoder and causal) check alike: the ISAs with integer kernels
// here, an output against its double twin within two code steps (on average within 1e-3 of one),
// and its relative RMS distance from fp32 attention.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/gemm_lowbit.h"

namespace squish::test {

inline std::vector<Isa> integer_isas() {
  std::vector<Isa> isas;
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2, Isa::kScalar})
    if (lowbit_isa_available(isa)) isas.push_back(isa);
  return isas;
}

// ctx and ref: [batch, tokens, width]; only each sequence's first lengths[b] rows are compared. A
// probability whose code the fp32 and double softmaxes round apart moves an output by one code
// step (max|v| / 255) times a V code: rare, and bounded by this.
inline void expect_near_twin(const std::vector<float>& ctx, const std::vector<float>& ref, int64_t batch,
                             int64_t tokens, int64_t width, const std::vector<int32_t>& lengths, float step, Isa isa) {
  double total = 0;
  int64_t count = 0;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < lengths[static_cast<size_t>(b)]; ++i)
      for (int64_t d = 0; d < width; ++d) {
        const size_t at = static_cast<size_t>((b * tokens + i) * width + d);
        ASSERT_NEAR(ctx[at], ref[at], 2 * step + 1e-5f) << isa_name(isa) << " b=" << b << " i=" << i << " d=" << d;
        total += std::fabs(ctx[at] - ref[at]);
        ++count;
      }
  EXPECT_LT(total / static_cast<double>(count), 1e-3 * step) << isa_name(isa) << " T=" << tokens;
}

// sqrt(Σ (got − ref)² / Σ ref²) over each sequence's first lengths[b] rows of [batch, tokens, width].
inline double relative_rms(const std::vector<float>& got, const std::vector<float>& ref, int64_t batch, int64_t tokens,
                           int64_t width, const std::vector<int32_t>& lengths) {
  double err = 0, norm = 0;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < lengths[static_cast<size_t>(b)]; ++i)
      for (int64_t d = 0; d < width; ++d) {
        const size_t at = static_cast<size_t>((b * tokens + i) * width + d);
        err += (got[at] - ref[at]) * (got[at] - ref[at]);
        norm += ref[at] * ref[at];
      }
  return std::sqrt(err / norm);
}

}  // namespace squish::test
