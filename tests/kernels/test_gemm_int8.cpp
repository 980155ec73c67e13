// The int8 GEMM against exact integer arithmetic: equal, not close, on odd shapes (M = 1, K not a
// multiple of 64, N = 2) with activations up to the machine's exact bound; and the bound itself, on
// both paths (ctest runs this suite again with SQUISH_ISA=avx2, where vpmaddubsw saturates).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <tuple>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/gemm_int8.h"
#include "kernels/reference/reference_ops.h"

namespace squish {
namespace {

struct Int8Case {
  int64_t m, n, k;
};

std::vector<uint8_t> activations(size_t n, int max, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> d(0, max);
  std::vector<uint8_t> v(n);
  for (auto& x : v) x = static_cast<uint8_t>(d(rng));
  return v;
}

std::vector<int8_t> weights(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> d(-127, 127);  // symmetric quantization never uses -128
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(d(rng));
  return v;
}

class GemmInt8Test : public ::testing::TestWithParam<Int8Case> {};

TEST_P(GemmInt8Test, EqualsTheIntegerReferenceExactly) {
  const auto [m, n, k] = GetParam();
  const auto x = activations(static_cast<size_t>(m * k), int8_activation_max(), 1);
  const auto w = weights(static_cast<size_t>(n * k), 2);
  const PackedInt8Weights packed = PackedInt8Weights::pack(w.data(), n, k);
  std::vector<int32_t> acc(static_cast<size_t>(m * n)), ref(acc.size());
  gemm_u8s8s32(acc.data(), x.data(), packed, m);
  reference::gemm_u8s8s32(ref.data(), x.data(), w.data(), m, n, k);
  EXPECT_EQ(acc, ref);
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemmInt8Test,
                         ::testing::Values(Int8Case{1, 1, 1}, Int8Case{1, 768, 768}, Int8Case{37, 77, 129},
                                           Int8Case{130, 96, 33}, Int8Case{5, 2, 64}, Int8Case{128, 384, 1536},
                                           Int8Case{3, 2304, 768}),
                         [](const ::testing::TestParamInfo<Int8Case>& info) {
                           return "M" + std::to_string(info.param.m) + "_N" + std::to_string(info.param.n) + "_K" +
                                  std::to_string(info.param.k);
                         });

TEST(GemmInt8, WorstCaseAtTheBoundIsExact) {
  // Every product at its largest: the pair sums vpmaddubsw forms are 2 * max * 127.
  const int64_t m = 4, n = 8, k = 96;
  const std::vector<uint8_t> x(static_cast<size_t>(m * k), static_cast<uint8_t>(int8_activation_max()));
  std::vector<int8_t> w(static_cast<size_t>(n * k), 127);
  for (size_t i = 0; i < w.size(); i += 2) w[i] = -127;  // and mixed signs
  const PackedInt8Weights packed = PackedInt8Weights::pack(w.data(), n, k);
  std::vector<int32_t> acc(static_cast<size_t>(m * n)), ref(acc.size());
  gemm_u8s8s32(acc.data(), x.data(), packed, m);
  reference::gemm_u8s8s32(ref.data(), x.data(), w.data(), m, n, k);
  EXPECT_EQ(acc, ref);
}

// Why the bound exists: past it, the AVX2 path's int16 pair sums saturate; VNNI has no such limit.
TEST(GemmInt8, FullRangeActivationsSaturateOnlyWithoutVnni) {
  const int64_t m = 2, n = 4, k = 64;
  const std::vector<uint8_t> x(static_cast<size_t>(m * k), 255);
  const std::vector<int8_t> w(static_cast<size_t>(n * k), 127);
  const PackedInt8Weights packed = PackedInt8Weights::pack(w.data(), n, k);
  std::vector<int32_t> acc(static_cast<size_t>(m * n)), ref(acc.size());
  gemm_u8s8s32(acc.data(), x.data(), packed, m);
  reference::gemm_u8s8s32(ref.data(), x.data(), w.data(), m, n, k);
  if (int8_activation_max() == 255) {
    EXPECT_EQ(acc, ref);
  } else {
    EXPECT_EQ(int8_activation_max(), 128);
    EXPECT_LT(acc[0], ref[0]) << "the AVX2 path no longer saturates: the bound can be raised";
  }
}

TEST(GemmInt8, PackingKeepsTheWeightsAndTheirRowSums) {
  const int64_t n = 96, k = 33;
  const auto w = weights(static_cast<size_t>(n * k), 3);
  const PackedInt8Weights packed = PackedInt8Weights::pack(w.data(), n, k);
  std::vector<int8_t> back(w.size());
  packed.unpack(back.data());
  EXPECT_EQ(back, w);
  for (int64_t r = 0; r < n; ++r) {
    int32_t sum = 0;
    for (int64_t c = 0; c < k; ++c) sum += w[static_cast<size_t>(r * k + c)];
    EXPECT_EQ(packed.row_sums()[static_cast<size_t>(r)], sum) << r;
  }
  EXPECT_GE(packed.bytes(), n * k + n * 4);
}

// The fused static GEMM against the exact integer product and the double-precision epilogue twin:
// the same dequantization, bias and epilogue, on odd shapes, for every epilogue, with and without bias.
TEST(GemmInt8, StaticGemmFusesTheOutputStageExactlyAsTheEpilogueTwin) {
  for (const auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{1, 64, 96}, {37, 77, 129}, {128, 256, 768}})
    for (Epilogue e : {Epilogue::kNone, Epilogue::kGelu, Epilogue::kTanh, Epilogue::kAccumulate})
      for (bool with_bias : {true, false}) {
        const auto x = activations(static_cast<size_t>(m * k), int8_activation_max(), 5);
        const auto w = weights(static_cast<size_t>(n * k), 6);
        std::vector<float> weight_scales(static_cast<size_t>(n)), bias(static_cast<size_t>(n));
        for (int64_t j = 0; j < n; ++j) {
          weight_scales[static_cast<size_t>(j)] = 1e-3f * static_cast<float>(1 + j % 7);
          bias[static_cast<size_t>(j)] = 0.05f * static_cast<float>(j % 5) - 0.1f;
        }
        const float input_scale = 0.013f;
        const int32_t zero_point = int8_activation_max() / 3;
        const StaticInt8Gemm gemm(PackedInt8Weights::pack(w.data(), n, k), input_scale, zero_point, weight_scales);
        std::vector<float> y(static_cast<size_t>(m * n), 0.25f), ref = y;
        gemm.run(y.data(), x.data(), with_bias ? bias.data() : nullptr, m, e);
        std::vector<int32_t> acc(static_cast<size_t>(m * n));
        reference::gemm_u8s8s32(acc.data(), x.data(), w.data(), m, n, k);
        std::vector<int32_t> sums(static_cast<size_t>(n), 0);
        for (int64_t j = 0; j < n; ++j)
          for (int64_t c = 0; c < k; ++c) sums[static_cast<size_t>(j)] += w[static_cast<size_t>(j * k + c)];
        const std::vector<float> row_scales(static_cast<size_t>(m), input_scale);
        const std::vector<int32_t> row_zeros(static_cast<size_t>(m), zero_point);
        reference::dequant_epilogue(ref.data(), acc.data(), row_scales.data(), row_zeros.data(), weight_scales.data(),
                                    sums.data(), with_bias ? bias.data() : nullptr, m, n, e);
        // fp32 rounding of acc + folded bias (|acc| < 2^24 here, so one rounding of the sum) and of
        // oneDNN's GELU/tanh: a few ulp of the largest intermediate.
        for (size_t i = 0; i < y.size(); ++i)
          ASSERT_NEAR(y[i], ref[i], 2e-5 * (1 + std::fabs(ref[i])))
              << "M" << m << " N" << n << " K" << k << " epilogue " << static_cast<int>(e) << " bias " << with_bias << " at " << i;
      }
}

}  // namespace
}  // namespace squish
