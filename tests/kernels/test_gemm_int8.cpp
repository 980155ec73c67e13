// The int8 GEMM against exact integer arithmetic: equal, not close, on every back end this CPU has
// (oneDNN with VNNI, squish's AVX2 and scalar kernels), on odd shapes (M = 1, K odd or not a
// multiple of 64, N = 2 or not a multiple of 16) with activations over the whole u8 range, and at
// the worst case (255 × ±127, where vpmaddubsw's int16 pair sums would saturate).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "kernels/cpu_features.h"
#include "kernels/gemm_int8.h"
#include "kernels/int8_scheme.h"
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

// Every int8 back end this CPU can run: each ISA's, for the full and the reduced activation range
// (on AVX2 the reduced range runs on oneDNN's vpmaddubsw kernel instead of squish's pair tiles).
struct BackEnd {
  Isa isa;
  int qmax;
};
std::vector<BackEnd> back_ends() {
  std::vector<BackEnd> out;
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2, Isa::kScalar})
    for (int qmax : {kActivationQmax, kReducedActivationQmax})
      if (int8_isa_available(isa)) out.push_back({isa, qmax});
  return out;
}
std::string name(const BackEnd& b) { return std::string(isa_name(b.isa)) + " qmax " + std::to_string(b.qmax); }

class GemmInt8Test : public ::testing::TestWithParam<Int8Case> {};

TEST_P(GemmInt8Test, EqualsTheIntegerReferenceExactlyOnEveryBackEnd) {
  const auto [m, n, k] = GetParam();
  const auto w = weights(static_cast<size_t>(n * k), 2);
  for (const BackEnd& b : back_ends()) {
    const auto x = activations(static_cast<size_t>(m * k), b.qmax, 1);
    std::vector<int32_t> ref(static_cast<size_t>(m * n));
    reference::gemm_u8s8s32(ref.data(), x.data(), w.data(), m, n, k);
    const PackedInt8Weights packed = PackedInt8Weights::pack(w.data(), n, k, b.qmax, b.isa);
    EXPECT_EQ(packed.isa(), b.isa);
    EXPECT_EQ(packed.on_onednn(), b.isa == Isa::kAvx512 || (b.isa == Isa::kAvx2 && b.qmax <= kVpmaddubswExactMax));
    std::vector<int32_t> acc(ref.size(), -1);
    gemm_u8s8s32(acc.data(), x.data(), packed, m);
    EXPECT_EQ(acc, ref) << name(b);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemmInt8Test,
                         ::testing::Values(Int8Case{1, 1, 1}, Int8Case{1, 768, 768}, Int8Case{37, 77, 129},
                                           Int8Case{130, 96, 33}, Int8Case{5, 2, 64}, Int8Case{128, 384, 1536},
                                           Int8Case{3, 2304, 768}, Int8Case{61, 17, 7}, Int8Case{6, 16, 2}),
                         [](const ::testing::TestParamInfo<Int8Case>& info) {
                           return "M" + std::to_string(info.param.m) + "_N" + std::to_string(info.param.n) + "_K" +
                                  std::to_string(info.param.k);
                         });

TEST(GemmInt8, WorstCaseProductsAreExactOnEveryBackEnd) {
  // Every product at its largest, qmax × ±127: at 255 vpmaddubsw would form int16 pair sums of
  // ±64770, so the full range runs on pair tiles; at 127 its pair sums stay within ±32258.
  const int64_t m = 7, n = 24, k = 97;
  for (const BackEnd& b : back_ends())
  for (int sign_pattern = 0; sign_pattern < 3; ++sign_pattern) {
    const std::vector<uint8_t> x(static_cast<size_t>(m * k), static_cast<uint8_t>(b.qmax));
    std::vector<int8_t> w(static_cast<size_t>(n * k), 127);
    for (size_t i = 0; i < w.size(); ++i) {
      if (sign_pattern == 1) w[i] = -127;
      if (sign_pattern == 2 && i % 2 == 0) w[i] = -127;  // mixed signs
    }
    std::vector<int32_t> ref(static_cast<size_t>(m * n));
    reference::gemm_u8s8s32(ref.data(), x.data(), w.data(), m, n, k);
    EXPECT_EQ(ref[0], sign_pattern == 0 ? b.qmax * 127 * k : sign_pattern == 1 ? -b.qmax * 127 * k : -b.qmax * 127);
    std::vector<int32_t> acc(ref.size());
    gemm_u8s8s32(acc.data(), x.data(), PackedInt8Weights::pack(w.data(), n, k, b.qmax, b.isa), m);
    EXPECT_EQ(acc, ref) << name(b) << " sign pattern " << sign_pattern;
  }
}

TEST(GemmInt8, BackEndFollowsTheCpuAndTheIsaCap) {
  const Isa expected = active_isa() == Isa::kAvx512 && int8_isa_available(Isa::kAvx512) ? Isa::kAvx512
                       : active_isa() >= Isa::kAvx2                                     ? Isa::kAvx2
                                                                                        : Isa::kScalar;
  EXPECT_EQ(int8_isa(), expected);
  const std::vector<int8_t> w(4, 1);
  EXPECT_EQ(PackedInt8Weights::pack(w.data(), 2, 2).isa(), expected);
  if (!int8_isa_available(Isa::kAvx512)) {
    EXPECT_THROW(PackedInt8Weights::pack(w.data(), 2, 2, kActivationQmax, Isa::kAvx512), UsageError);
  }
}

TEST(GemmInt8, PackingKeepsTheWeightsAndTheirRowSums) {
  const int64_t n = 90, k = 33;
  const auto w = weights(static_cast<size_t>(n * k), 3);
  for (const BackEnd& b : back_ends()) {
    const PackedInt8Weights packed = PackedInt8Weights::pack(w.data(), n, k, b.qmax, b.isa);
    std::vector<int8_t> back(w.size());
    packed.unpack(back.data());
    EXPECT_EQ(back, w) << name(b);
    for (int64_t r = 0; r < n; ++r) {
      int32_t sum = 0;
      for (int64_t c = 0; c < k; ++c) sum += w[static_cast<size_t>(r * k + c)];
      EXPECT_EQ(packed.row_sums()[static_cast<size_t>(r)], sum) << name(b) << " row " << r;
    }
    EXPECT_GE(packed.bytes(), n * k + n * 4) << name(b);
  }
}

// The static GEMM (fused in oneDNN with VNNI, int32 products then the shared epilogue elsewhere)
// against the exact integer product and the double-precision epilogue twin: the same
// dequantization, bias and epilogue on every back end, on odd shapes, for every epilogue, with and
// without bias.
TEST(GemmInt8, StaticGemmFusesTheOutputStageExactlyAsTheEpilogueTwin) {
  for (const auto& [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{1, 64, 96}, {37, 77, 129}, {128, 256, 768}})
    for (Epilogue e : {Epilogue::kNone, Epilogue::kGelu, Epilogue::kTanh, Epilogue::kAccumulate, Epilogue::kRelu})
      for (bool with_bias : {true, false})
        for (const BackEnd& be : back_ends()) {
          const auto x = activations(static_cast<size_t>(m * k), be.qmax, 5);
          const auto w = weights(static_cast<size_t>(n * k), 6);
          std::vector<float> weight_scales(static_cast<size_t>(n)), bias(static_cast<size_t>(n));
          for (int64_t j = 0; j < n; ++j) {
            weight_scales[static_cast<size_t>(j)] = 1e-3f * static_cast<float>(1 + j % 7);
            bias[static_cast<size_t>(j)] = 0.05f * static_cast<float>(j % 5) - 0.1f;
          }
          const float input_scale = 0.013f;
          const int32_t zero_point = be.qmax / 3;
          const StaticInt8Gemm gemm(PackedInt8Weights::pack(w.data(), n, k, be.qmax, be.isa), input_scale, zero_point,
                                    weight_scales);
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
          // fp32 rounding of acc + folded bias (|acc| < 2^24 here, so one rounding of the sum) and
          // of oneDNN's GELU/tanh: a few ulp of the largest intermediate.
          for (size_t i = 0; i < y.size(); ++i)
            ASSERT_NEAR(y[i], ref[i], 2e-5 * (1 + std::fabs(ref[i])))
                << name(be) << " M" << m << " N" << n << " K" << k << " epilogue " << static_cast<int>(e)
                << " bias " << with_bias << " at " << i;
        }
}

// gemm_u8s8_dequant (the dynamic Linears' GEMM, whose output stage the pair-tile back ends apply as
// they store each tile) against the exact integer product and the double twin: per-row scales and
// zero points, odd shapes (partial tiles, a row count no panel divides), every epilogue.
TEST(GemmInt8, DequantizingGemmMatchesTheEpilogueTwinOnEveryBackEnd) {
  for (const auto& [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{1, 16, 96}, {37, 77, 129}, {131, 48, 768}})
    for (Epilogue e : {Epilogue::kNone, Epilogue::kGelu, Epilogue::kTanh, Epilogue::kAccumulate, Epilogue::kRelu})
      for (bool with_bias : {true, false})
        for (const BackEnd& be : back_ends()) {
          const auto x = activations(static_cast<size_t>(m * k), be.qmax, 7);
          const auto w = weights(static_cast<size_t>(n * k), 8);
          std::vector<float> row_scales(static_cast<size_t>(m)), col_scales(static_cast<size_t>(n)),
              bias(static_cast<size_t>(n));
          std::vector<int32_t> row_zeros(static_cast<size_t>(m)), sums(static_cast<size_t>(n), 0);
          for (int64_t i = 0; i < m; ++i) {
            row_scales[static_cast<size_t>(i)] = 0.004f * static_cast<float>(1 + i % 5);
            row_zeros[static_cast<size_t>(i)] = static_cast<int32_t>(i * 37 % (be.qmax + 1));
          }
          for (int64_t j = 0; j < n; ++j) {
            col_scales[static_cast<size_t>(j)] = 1e-3f * static_cast<float>(1 + j % 7);
            bias[static_cast<size_t>(j)] = 0.05f * static_cast<float>(j % 5) - 0.1f;
            for (int64_t c = 0; c < k; ++c) sums[static_cast<size_t>(j)] += w[static_cast<size_t>(j * k + c)];
          }
          const float* b = with_bias ? bias.data() : nullptr;
          std::vector<float> y(static_cast<size_t>(m * n), 0.25f), ref = y;
          std::vector<int32_t> scratch(static_cast<size_t>(m * n));
          gemm_u8s8_dequant(y.data(), x.data(), PackedInt8Weights::pack(w.data(), n, k, be.qmax, be.isa), row_scales.data(),
                            row_zeros.data(), col_scales.data(), b, m, e, scratch.data());
          std::vector<int32_t> acc(static_cast<size_t>(m * n));
          reference::gemm_u8s8s32(acc.data(), x.data(), w.data(), m, n, k);
          reference::dequant_epilogue(ref.data(), acc.data(), row_scales.data(), row_zeros.data(), col_scales.data(),
                                      sums.data(), b, m, n, e);
          for (size_t i = 0; i < y.size(); ++i)
            ASSERT_NEAR(y[i], ref[i], 2e-5 * (1 + std::fabs(ref[i])))
                << name(be) << " M" << m << " N" << n << " K" << k << " epilogue " << static_cast<int>(e)
                << " bias " << with_bias << " at " << i;
        }
}

}  // namespace
}  // namespace squish
