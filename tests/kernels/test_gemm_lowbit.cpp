// Packed low-bit and fp16 weights (kernels/gemm_lowbit.h): packing is exact and costs what the
// layout says, RTN stays within half a step, and every ISA's kernel matches its reference twin on
// shapes that straddle the 16-column tile and the row blocks, for every epilogue, with and
// without bias.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/tensor.h"
#include "core/threads.h"
#include "kernels/gemm_lowbit.h"
#include "kernels/reference/reference_ops.h"

namespace squish {
namespace {

constexpr double kFloatUlp = 1.0 / (1 << 24);  // fp32 rounding, relative

std::vector<float> random_vector(size_t n, uint64_t seed, float stddev = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<Isa> lowbit_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512})
    if (lowbit_isa_available(isa)) out.push_back(isa);
  return out;
}

std::vector<Isa> f16_isas() {
  std::vector<Isa> out = {Isa::kScalar};
  const CpuFeatures& f = cpu_features();
  if (f.avx2 && f.fma) out.push_back(Isa::kAvx2);
  if (f.avx512f && f.avx512bw && f.avx512vl) out.push_back(Isa::kAvx512);
  return out;
}

const char* epilogue_name(Epilogue e) {
  switch (e) {
    case Epilogue::kNone: return "none";
    case Epilogue::kGelu: return "gelu";
    case Epilogue::kTanh: return "tanh";
    case Epilogue::kAccumulate: return "accumulate";
    case Epilogue::kRelu: return "relu";
  }
  return "?";
}

constexpr Epilogue kEpilogues[] = {Epilogue::kNone, Epilogue::kGelu, Epilogue::kTanh, Epilogue::kAccumulate,
                                   Epilogue::kRelu};

// The activations go through oneDNN's eltwise kernels, the twins through libm: their difference
// (measured below 1e-6 relative) on top of the linear part's bound, which GELU (slope ≤ 1.13) and
// tanh (≤ 1) carry through; ReLU is exact and 1-Lipschitz, so the linear bound holds as it is.
double activation_tolerance(Epilogue e, double linear_bound, float ref) {
  if (e == Epilogue::kGelu || e == Epilogue::kTanh) return 1.13 * linear_bound + 2e-6 * (1.0 + std::fabs(ref));
  return linear_bound;
}

TEST(LowBitPacking, UnpackIsExactAndBytesFollowTheLayout) {
  for (int bits : {2, 3, 4})
    for (int64_t group : {32, 64, 128})
      for (int64_t n : {1, 15, 16, 33, 100}) {
        const int64_t k = 3 * group;
        const auto w = random_vector(static_cast<size_t>(n * k), 11 + n + group);
        const GroupQuantized q = quantize_groups_rtn(w.data(), n, k, bits, group);
        const PackedLowBitWeights packed = PackedLowBitWeights::pack(q);
        const std::string where = std::to_string(bits) + " bits g" + std::to_string(group) + " n=" + std::to_string(n);
        EXPECT_EQ(packed.bits(), bits) << where;
        EXPECT_EQ(packed.group_size(), group) << where;
        EXPECT_EQ(packed.n(), n) << where;
        EXPECT_EQ(packed.k(), k) << where;
        const GroupQuantized back = packed.unpack();
        EXPECT_EQ(back.codes, q.codes) << where;
        EXPECT_EQ(back.scales, q.scales) << where;
        EXPECT_EQ(back.minimums, q.minimums) << where;
        // lowbit_kernels.h: columns padded to 16, bits / 8 bytes per code (3-bit codes in the 4-bit
        // layout), two fp16 per group.
        const int64_t padded = (n + 15) / 16 * 16, layout_bits = bits == 3 ? 4 : bits;
        EXPECT_EQ(packed.bytes(), padded * (k * layout_bits / 8 + 4 * k / group)) << where;
      }
}

TEST(LowBitPacking, RejectsWhatTheLayoutCannotHold) {
  const auto w = random_vector(4 * 64, 3);
  GroupQuantized q = quantize_groups_rtn(w.data(), 4, 64, 4, 32);
  q.codes[5] = 16;
  EXPECT_THROW(PackedLowBitWeights::pack(q), FormatError);
  q = quantize_groups_rtn(w.data(), 4, 64, 4, 32);
  q.scales[1] = 0.1f;  // not an fp16 value
  EXPECT_THROW(PackedLowBitWeights::pack(q), FormatError);
  q = quantize_groups_rtn(w.data(), 4, 64, 2, 8);
  EXPECT_THROW(PackedLowBitWeights::pack(q), ShapeError);
  q = quantize_groups_rtn(w.data(), 4, 64, 4, 32);
  q.minimums.pop_back();
  EXPECT_THROW(PackedLowBitWeights::pack(q), ShapeError);
}

// Round-to-nearest puts each weight within half a step of its grid point; the grid's fp16
// parameters add the minimum's rounding and, at the top code, max_code times the scale's rounding
// (2^-11 relative).
TEST(LowBitPacking, RoundTripStaysWithinHalfAStep) {
  const int64_t n = 24, k = 384;
  const auto w = random_vector(static_cast<size_t>(n * k), 5, 0.05f);
  for (int bits : {2, 3, 4})
    for (int64_t group : {32, 64, 128}) {
      const GroupQuantized q = quantize_groups_rtn(w.data(), n, k, bits, group);
      std::vector<float> back(w.size());
      dequantize_groups(q, back.data());
      for (int64_t r = 0; r < n; ++r)
        for (int64_t g = 0; g < k / group; ++g) {
          const float* wg = w.data() + r * k + g * group;
          const float lowest = *std::min_element(wg, wg + group);
          const size_t p = static_cast<size_t>(r * (k / group) + g);
          const double bound = q.scales[p] / 2.0 + std::fabs(q.minimums[p] - lowest) +
                               max_code(bits) * q.scales[p] / 2048.0 + 4 * kFloatUlp * std::fabs(lowest);
          for (int64_t i = 0; i < group; ++i)
            ASSERT_LE(std::fabs(back[static_cast<size_t>(r * k + g * group + i)] - wg[i]), bound)
                << bits << " bits g" << group << " row " << r << " group " << g << " i=" << i;
        }
    }
}

TEST(LowBitPacking, AddRowAddsTheDequantizedRow) {
  for (int bits : {2, 3, 4}) {
    const int64_t n = 37, k = 192, group = 64;
    const auto w = random_vector(static_cast<size_t>(n * k), 7);
    const GroupQuantized q = quantize_groups_rtn(w.data(), n, k, bits, group);
    const PackedLowBitWeights packed = PackedLowBitWeights::pack(q);
    std::vector<float> dequantized(w.size());
    dequantize_groups(q, dequantized.data());
    for (int64_t r : {int64_t{0}, int64_t{15}, int64_t{16}, int64_t{36}}) {
      auto out = random_vector(static_cast<size_t>(k), 100 + r);
      const auto before = out;
      packed.add_row(r, out.data());
      for (int64_t i = 0; i < k; ++i)
        ASSERT_EQ(out[i], before[i] + dequantized[r * k + i]) << bits << " bits row " << r << " i=" << i;
    }
    std::vector<float> out(k);
    EXPECT_THROW(packed.add_row(n, out.data()), ShapeError);
  }
}

// The kernels differ from the twin only in fp32 rounding of the group finish: per group a product
// and a sum for the codes' dot and again for the minimums' term, then the row scale and the bias,
// each rounding at most 2^-24 of the magnitude |xs| Σ_k |xq| (scale · code + |minimum|) + |b|.
TEST(LowBitGemm, EveryIsaMatchesTheReferenceTwin) {
  for (int bits : {2, 3, 4})
    for (int64_t group : {32, 64})
      for (int64_t m : {1, 3, 17, 130})
        for (int64_t n : {1, 15, 33, 100})
          for (int64_t k : {64, 192}) {
            const auto w = random_vector(static_cast<size_t>(n * k), 17 + n * k, 0.05f);
            const GroupQuantized q = quantize_groups_rtn(w.data(), n, k, bits, group);
            const PackedLowBitWeights packed = PackedLowBitWeights::pack(q);
            const auto x = random_vector(static_cast<size_t>(m * k), 19 + m);
            const auto bias = random_vector(static_cast<size_t>(n), 23, 0.1f);
            const auto y0 = random_vector(static_cast<size_t>(m * n), 29);
            std::vector<int8_t> xq(x.size());
            std::vector<float> xs(static_cast<size_t>(m));
            reference::quantize_rows_symmetric(xq.data(), xs.data(), x.data(), m, k);
            std::vector<double> magnitude(static_cast<size_t>(m * n));
            for (int64_t i = 0; i < m; ++i)
              for (int64_t j = 0; j < n; ++j) {
                double s = 0;
                for (int64_t p = 0; p < k; ++p) {
                  const size_t g = static_cast<size_t>(j * (k / group) + p / group);
                  s += std::abs(xq[i * k + p]) * (q.scales[g] * q.codes[j * k + p] + std::fabs(q.minimums[g]));
                }
                magnitude[i * n + j] = xs[i] * s + std::fabs(bias[j]) + std::fabs(y0[i * n + j]);
              }
            const double roundings = 4.0 * static_cast<double>(k / group) + 4.0;
            AlignedVector<uint8_t> workspace(static_cast<size_t>(gemm_lowbit_workspace_bytes(packed, m)));
            for (Epilogue e : kEpilogues)
              for (bool with_bias : {false, true}) {
                const float* b = with_bias ? bias.data() : nullptr;
                auto ref = y0;
                reference::gemm_lowbit(ref.data(), x.data(), q, b, m, e);
                for (Isa isa : lowbit_isas()) {
                  auto y = y0;
                  gemm_lowbit_on(isa, y.data(), x.data(), packed, b, m, e, workspace.data());
                  for (int64_t i = 0; i < m * n; ++i)
                    ASSERT_NEAR(y[i], ref[i], activation_tolerance(e, roundings * kFloatUlp * magnitude[i], ref[i]))
                        << isa_name(isa) << " " << bits << " bits g" << group << " m=" << m << " n=" << n << " k=" << k
                        << " " << epilogue_name(e) << (with_bias ? " bias" : "") << " i=" << i;
                }
              }
          }
}

// Against the dequantized weight in plain fp32: the only real difference is x's quantization,
// at most half an activation step xs / 2 per element, so |Δy| ≤ xs / 2 · Σ_k |w| (+ rounding).
TEST(LowBitGemm, MatchesTheDequantizedFloatGemmWithinTheActivationStep) {
  const int64_t m = 33, n = 70, k = 256;
  const auto x = random_vector(static_cast<size_t>(m * k), 31);
  const auto bias = random_vector(static_cast<size_t>(n), 37, 0.1f);
  for (int bits : {2, 3, 4})
    for (int64_t group : {32, 64, 128}) {
      const auto w = random_vector(static_cast<size_t>(n * k), 41, 0.05f);
      const GroupQuantized q = quantize_groups_rtn(w.data(), n, k, bits, group);
      std::vector<float> dequantized(w.size());
      dequantize_groups(q, dequantized.data());
      std::vector<float> ref(static_cast<size_t>(m * n)), y(ref.size());
      reference::linear(ref.data(), x.data(), dequantized.data(), bias.data(), m, n, k, Epilogue::kNone);
      const PackedLowBitWeights packed = PackedLowBitWeights::pack(q);
      AlignedVector<uint8_t> workspace(static_cast<size_t>(gemm_lowbit_workspace_bytes(packed, m)));
      gemm_lowbit(y.data(), x.data(), packed, bias.data(), m, Epilogue::kNone, workspace.data());
      double worst_ratio = 0;
      for (int64_t i = 0; i < m; ++i) {
        const float amax = std::fabs(*std::max_element(x.begin() + i * k, x.begin() + (i + 1) * k,
                                                       [](float a, float b) { return std::fabs(a) < std::fabs(b); }));
        const double step = amax / 127.0;
        for (int64_t j = 0; j < n; ++j) {
          double abs_w = 0, abs_xw = 0;
          for (int64_t p = 0; p < k; ++p) {
            abs_w += std::fabs(dequantized[j * k + p]);
            abs_xw += std::fabs(x[i * k + p] * dequantized[j * k + p]);
          }
          const double bound = step / 2 * abs_w + 1e-5 * (abs_xw + std::fabs(bias[j]));
          const double error = std::fabs(y[i * n + j] - ref[i * n + j]);
          ASSERT_LE(error, bound) << bits << " bits g" << group << " row " << i << " col " << j;
          worst_ratio = std::max(worst_ratio, error / bound);
        }
      }
      // The bound is a worst case; random rounding errors cancel far below it.
      EXPECT_LT(worst_ratio, 0.5) << bits << " bits g" << group;
    }
}

TEST(LowBitGemm, BitIdenticalAcrossThreadCounts) {
  const int64_t m = 130, n = 100, k = 192;
  const auto w = random_vector(static_cast<size_t>(n * k), 43, 0.05f);
  const auto x = random_vector(static_cast<size_t>(m * k), 47);
  const PackedLowBitWeights packed = PackedLowBitWeights::pack(quantize_groups_rtn(w.data(), n, k, 4, 64));
  AlignedVector<uint8_t> workspace(static_cast<size_t>(gemm_lowbit_workspace_bytes(packed, m)));
  std::vector<float> one(static_cast<size_t>(m * n)), three(one.size());
  set_num_threads(1);
  gemm_lowbit(one.data(), x.data(), packed, nullptr, m, Epilogue::kNone, workspace.data());
  set_num_threads(3);
  gemm_lowbit(three.data(), x.data(), packed, nullptr, m, Epilogue::kNone, workspace.data());
  set_num_threads(0);  // back to all cores, the default
  EXPECT_EQ(std::memcmp(one.data(), three.data(), one.size() * sizeof(float)), 0);
  EXPECT_NE(one[0], 0.0f);
}

// A zero row and a row so small that 127 / max|x| overflows both quantize to zeros: y is the bias
// (not the -128 codes an infinite inverse scale would saturate to).
TEST(LowBitGemm, ZeroAndTinyRowsGiveTheBias) {
  const int64_t n = 20, k = 64;
  const auto w = random_vector(static_cast<size_t>(n * k), 83);
  const auto bias = random_vector(static_cast<size_t>(n), 89);
  const PackedLowBitWeights packed = PackedLowBitWeights::pack(quantize_groups_rtn(w.data(), n, k, 4, 32));
  std::vector<float> x(static_cast<size_t>(2 * k), 0.0f);
  for (int64_t p = 0; p < k; ++p) x[static_cast<size_t>(k + p)] = (p % 2 ? -1.0f : 1.0f) * 1e-38f * (1 + p % 3);
  AlignedVector<uint8_t> workspace(static_cast<size_t>(gemm_lowbit_workspace_bytes(packed, 2)));
  for (Isa isa : lowbit_isas()) {
    std::vector<float> y(static_cast<size_t>(2 * n), 5.0f);
    gemm_lowbit_on(isa, y.data(), x.data(), packed, bias.data(), 2, Epilogue::kNone, workspace.data());
    for (int64_t i = 0; i < 2 * n; ++i) ASSERT_EQ(y[i], bias[i % n]) << isa_name(isa) << " i=" << i;
  }
}

TEST(LowBitGemm, RefusesAMissingWorkspace) {
  const auto w = random_vector(16 * 64, 53);
  const PackedLowBitWeights packed = PackedLowBitWeights::pack(quantize_groups_rtn(w.data(), 16, 64, 4, 64));
  std::vector<float> x(64, 1.0f), y(16);
  EXPECT_THROW(gemm_lowbit(y.data(), x.data(), packed, nullptr, 1, Epilogue::kNone, nullptr), UsageError);
}

std::vector<uint16_t> random_halves(size_t count, uint64_t seed, float stddev) {
  const auto v = random_vector(count, seed, stddev);
  std::vector<uint16_t> h(count);
  for (size_t i = 0; i < count; ++i) h[i] = float_to_half(v[i]);
  return h;
}

TEST(F16Weights, UnpackAndAddRowAreExact) {
  const int64_t n = 33, k = 100;  // a full panel of 32 columns and one of a single column
  const auto halves = random_halves(static_cast<size_t>(n * k), 59, 0.5f);
  const PackedF16Weights packed = PackedF16Weights::pack(halves.data(), n, k);
  EXPECT_EQ(packed.n(), n);
  EXPECT_EQ(packed.k(), k);
  EXPECT_EQ(packed.bytes(), n * k * 2);
  EXPECT_EQ(packed.unpack(), halves);
  auto out = random_vector(static_cast<size_t>(k), 61);
  const auto before = out;
  add_f16_row(out.data(), halves.data() + 32 * k, k);
  for (int64_t i = 0; i < k; ++i) ASSERT_EQ(out[i], before[i] + half_to_float(halves[32 * k + i])) << i;
}

// fp32 accumulation along K (one FMA chain, then the bias, then y): at most K + 2 roundings of
// 2^-24 of Σ_k |x · w| + |b| + |y|; bit-identical across ISAs.
TEST(F16Gemm, EveryIsaMatchesTheReferenceTwin) {
  for (int64_t m : {1, 3, 17, 130})
    for (int64_t n : {1, 15, 33, 100, 290})  // 290: several 4-panel items and a part
      for (int64_t k : {64, 100, 192}) {
        const auto halves = random_halves(static_cast<size_t>(n * k), 67 + n * k, 0.05f);
        const PackedF16Weights packed = PackedF16Weights::pack(halves.data(), n, k);
        const auto x = random_vector(static_cast<size_t>(m * k), 71 + m);
        const auto bias = random_vector(static_cast<size_t>(n), 73, 0.1f);
        const auto y0 = random_vector(static_cast<size_t>(m * n), 79);
        std::vector<double> magnitude(static_cast<size_t>(m * n));
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double s = std::fabs(bias[j]) + std::fabs(y0[i * n + j]);
            for (int64_t p = 0; p < k; ++p) s += std::fabs(x[i * k + p] * half_to_float(halves[j * k + p]));
            magnitude[i * n + j] = s;
          }
        for (Epilogue e : kEpilogues)
          for (bool with_bias : {false, true}) {
            const float* b = with_bias ? bias.data() : nullptr;
            auto ref = y0;
            reference::gemm_f16(ref.data(), x.data(), halves.data(), b, m, n, k, e);
            std::vector<float> first_isa;
            for (Isa isa : f16_isas()) {
              auto y = y0;
              gemm_f16_on(isa, y.data(), x.data(), packed, b, m, e, nullptr);
              // One FMA chain along K per output on every ISA: the same bits.
              if (first_isa.empty())
                first_isa = y;
              else
                ASSERT_EQ(y, first_isa) << isa_name(isa) << " m=" << m << " n=" << n << " k=" << k;
              for (int64_t i = 0; i < m * n; ++i)
                ASSERT_NEAR(y[i], ref[i],
                            activation_tolerance(e, static_cast<double>(k + 2) * kFloatUlp * magnitude[i], ref[i]))
                    << isa_name(isa) << " m=" << m << " n=" << n << " k=" << k << " " << epilogue_name(e)
                    << (with_bias ? " bias" : "") << " i=" << i;
            }
          }
      }
}

}  // namespace
}  // namespace squish
