// Every ISA variant of the row-wise kernels against the reference twins, on shapes that straddle
// vector widths (1, 15, 17, 768) and with masks that leave one valid key or all of them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/threads.h"
#include "kernels/attention.h"
#include "kernels/reference/reference_ops.h"
#include "kernels/vector_ops.h"

namespace squish {
namespace {

std::vector<float> random_vector(size_t n, uint64_t seed, float lo = -3.0f, float hi = 3.0f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<Isa> available_isas() {
  std::vector<Isa> out = {Isa::kScalar};
  const CpuFeatures& f = cpu_features();
  if (f.avx2 && f.fma) out.push_back(Isa::kAvx2);
  if (f.avx512f && f.avx512bw && f.avx512vl) out.push_back(Isa::kAvx512);
  return out;
}

TEST(VectorOps, LayerNormMatchesReferenceOnEveryIsa) {
  for (Isa isa : available_isas()) {
    for (int64_t n : {1, 15, 17, 128, 768}) {
      const int64_t rows = 9;
      const auto x = random_vector(rows * n, 1 + n, -4.0f, 6.0f);  // a non-zero mean, as real activations have
      const auto gamma = random_vector(n, 2), beta = random_vector(n, 3);
      std::vector<float> y(rows * n), ref(rows * n);
      vector_ops_for(isa).layernorm(y.data(), x.data(), gamma.data(), beta.data(), rows, n, 1e-12f);
      reference::layernorm(ref.data(), x.data(), gamma.data(), beta.data(), rows, n, 1e-12f);
      for (int64_t i = 0; i < rows * n; ++i)
        ASSERT_NEAR(y[i], ref[i], 2e-5 * (1 + std::fabs(ref[i]))) << isa_name(isa) << " n=" << n << " i=" << i;
    }
  }
}

// The int8 passes against the scheme's formulas written out in double: min/max exactly, u8 codes
// exactly (values kept away from rounding boundaries, where an FMA could tip the tie), the
// dequantized row to fp32 rounding.
TEST(VectorOps, Int8PassesMatchTheSchemeOnEveryIsa) {
  for (Isa isa : available_isas()) {
    const VectorOps& ops = vector_ops_for(isa);
    for (int64_t n : {1, 15, 17, 129, 768}) {
      const auto x = random_vector(static_cast<size_t>(n), 7 + n, -2.0f, 5.0f);
      float lo, hi;
      ops.min_max(x.data(), n, &lo, &hi);
      EXPECT_EQ(lo, *std::min_element(x.begin(), x.end())) << isa_name(isa) << " n=" << n;
      EXPECT_EQ(hi, *std::max_element(x.begin(), x.end())) << isa_name(isa) << " n=" << n;
      const float inv = 255.0f / 7.0f, zero = 73.0f;
      std::vector<uint8_t> q(static_cast<size_t>(n));
      ops.quantize_u8(x.data(), n, inv, zero, 255.0f, q.data());
      for (int64_t i = 0; i < n; ++i) {
        const double v = std::clamp(static_cast<double>(x[static_cast<size_t>(i)]) * inv + zero, 0.0, 255.0);
        if (std::fabs(v - std::floor(v) - 0.5) < 1e-3) continue;  // a near-tie: either neighbour is right
        EXPECT_EQ(q[static_cast<size_t>(i)], static_cast<uint8_t>(std::floor(v + 0.5))) << isa_name(isa) << " i=" << i;
      }
      std::vector<int32_t> acc(static_cast<size_t>(n)), sums(static_cast<size_t>(n));
      std::vector<float> col_scales(static_cast<size_t>(n)), bias(static_cast<size_t>(n));
      for (int64_t j = 0; j < n; ++j) {
        acc[static_cast<size_t>(j)] = static_cast<int32_t>(j * 7919 % 20000) - 10000;
        sums[static_cast<size_t>(j)] = static_cast<int32_t>(j % 13) - 6;
        col_scales[static_cast<size_t>(j)] = 1e-3f * static_cast<float>(1 + j % 5);
        bias[static_cast<size_t>(j)] = 0.01f * static_cast<float>(j % 3);
      }
      for (bool accumulate : {false, true}) {
        std::vector<float> y(static_cast<size_t>(n), 0.5f);
        ops.dequantize_row(y.data(), acc.data(), 0.02f, 11, col_scales.data(), sums.data(), bias.data(), n, accumulate);
        for (int64_t j = 0; j < n; ++j) {
          const size_t u = static_cast<size_t>(j);
          const double want = (accumulate ? 0.5 : 0.0) + 0.02 * col_scales[u] * (acc[u] - 11.0 * sums[u]) + bias[u];
          EXPECT_NEAR(y[u], want, 1e-6 * (1 + std::fabs(want))) << isa_name(isa) << " j=" << j;
        }
      }
    }
  }
}

TEST(VectorOps, LayerNormInPlaceEqualsOutOfPlace) {
  const int64_t rows = 4, n = 33;
  const auto x = random_vector(rows * n, 4), gamma = random_vector(n, 5), beta = random_vector(n, 6);
  std::vector<float> out(rows * n), inplace = x;
  vector_ops().layernorm(out.data(), x.data(), gamma.data(), beta.data(), rows, n, 1e-5f);
  vector_ops().layernorm(inplace.data(), inplace.data(), gamma.data(), beta.data(), rows, n, 1e-5f);
  EXPECT_EQ(out, inplace);
}

TEST(VectorOps, MaskedSoftmaxMatchesReferenceAndZeroesPadding) {
  for (Isa isa : available_isas()) {
    for (int64_t cols : {1, 16, 17, 130}) {
      for (int64_t valid : {int64_t{1}, cols / 2 + 1, cols}) {
        const int64_t rows = 3;
        auto s = random_vector(rows * cols, 7 + cols, -30.0f, 30.0f);
        auto ref = s;
        vector_ops_for(isa).masked_softmax(s.data(), rows, cols, valid, 0.125f);
        reference::masked_softmax(ref.data(), rows, cols, valid, 0.125f);
        for (int64_t r = 0; r < rows; ++r) {
          double total = 0;
          for (int64_t j = 0; j < cols; ++j) {
            const float p = s[r * cols + j];
            ASSERT_NEAR(p, ref[r * cols + j], 1e-6 + 1e-5 * ref[r * cols + j]) << isa_name(isa);
            if (j >= valid) {
              ASSERT_EQ(p, 0.0f);
            }
            total += p;
          }
          ASSERT_NEAR(total, 1.0, 1e-5);
        }
      }
    }
  }
}

TEST(VectorOps, RmsNormMatchesReferenceOnEveryIsa) {
  for (Isa isa : available_isas()) {
    for (int64_t n : {1, 15, 17, 576}) {
      const int64_t rows = 5;
      const auto x = random_vector(rows * n, 40 + n, -8.0f, 8.0f);
      const auto gamma = random_vector(n, 41 + n);
      std::vector<float> y(x.size()), ref(x.size());
      vector_ops_for(isa).rmsnorm(y.data(), x.data(), gamma.data(), rows, n, 1e-5f);
      reference::rmsnorm(ref.data(), x.data(), gamma.data(), rows, n, 1e-5f);
      for (size_t i = 0; i < y.size(); ++i)
        ASSERT_NEAR(y[i], ref[i], 2e-6 * (1 + std::fabs(ref[i]))) << isa_name(isa) << " n=" << n << " i=" << i;
      std::vector<float> inplace = x;  // y may alias x
      vector_ops_for(isa).rmsnorm(inplace.data(), inplace.data(), gamma.data(), rows, n, 1e-5f);
      EXPECT_EQ(inplace, y) << isa_name(isa);
    }
  }
}

TEST(VectorOps, SiluMulMatchesReferenceOnEveryIsaIncludingTheTails) {
  for (Isa isa : available_isas()) {
    for (int64_t n : {1, 15, 17, 1536}) {
      const int64_t rows = 3;
      auto gate_up = random_vector(rows * 2 * n, 50 + n, -12.0f, 12.0f);
      gate_up[0] = -100.0f;  // silu's tails: -100·e^-100 is 0 to float, 100 stays 100
      gate_up[static_cast<size_t>(n - 1)] = 100.0f;
      std::vector<float> y(static_cast<size_t>(rows * n)), ref(y.size());
      vector_ops_for(isa).silu_mul(y.data(), gate_up.data(), rows, n);
      reference::silu_mul(ref.data(), gate_up.data(), rows, n);
      for (size_t i = 0; i < y.size(); ++i)
        ASSERT_NEAR(y[i], ref[i], 1e-6 + 2e-6 * std::fabs(ref[i])) << isa_name(isa) << " n=" << n << " i=" << i;
    }
  }
}

TEST(VectorOps, LogSumExpMatchesReferenceOverAVocabulary) {
  for (Isa isa : available_isas())
    for (int64_t n : {1, 17, 49152}) {
      const auto x = random_vector(static_cast<size_t>(n), 60 + n, -20.0f, 25.0f);
      const double want = reference::log_sum_exp(x.data(), n);
      EXPECT_NEAR(vector_ops_for(isa).log_sum_exp(x.data(), n), want, 2e-6 * (1 + std::fabs(want))) << isa_name(isa);
    }
}

TEST(VectorOps, SoftmaxSurvivesExtremeScores) {
  std::vector<float> s = {-1e30f, 0.0f, 1e30f, 88.0f, -88.0f, 1e-30f};
  vector_ops().masked_softmax(s.data(), 1, 6, 6, 1.0f);
  EXPECT_FLOAT_EQ(s[2], 1.0f);
  for (float p : s) EXPECT_TRUE(std::isfinite(p));
}

TEST(Attention, MatchesReferenceWithPadding) {
  const AttentionShape shape{3, 9, 2, 16};
  const int64_t H = shape.hidden();
  const auto qkv = random_vector(shape.batch * shape.tokens * 3 * H, 11, -1.0f, 1.0f);
  const std::vector<int32_t> lengths = {9, 1, 5};
  std::vector<float> ctx(shape.batch * shape.tokens * H), ref(ctx.size());
  std::vector<float> scores(attention_workspace_floats(shape, shape.tokens));
  attention(ctx.data(), scores.data(), qkv.data(), lengths.data(), shape, shape.tokens);
  reference::attention(ref.data(), qkv.data(), lengths.data(), shape);
  for (int64_t b = 0; b < shape.batch; ++b)
    for (int64_t t = 0; t < lengths[b]; ++t)  // padded query rows are unspecified
      for (int64_t i = 0; i < H; ++i) {
        const size_t at = (b * shape.tokens + t) * H + i;
        ASSERT_NEAR(ctx[at], ref[at], 2e-6) << "b=" << b << " t=" << t << " i=" << i;
      }
}

TEST(Attention, PaddingDoesNotChangeValidRows) {
  // The same sequence alone (T=4) and padded to T=7 must give the same context rows.
  const AttentionShape small{1, 4, 2, 8}, padded{1, 7, 2, 8};
  const int64_t H = small.hidden();
  auto qkv_padded = random_vector(7 * 3 * H, 12);
  std::vector<float> qkv_small(qkv_padded.begin(), qkv_padded.begin() + 4 * 3 * H);
  const std::vector<int32_t> len = {4};
  std::vector<float> ctx_small(4 * H), ctx_padded(7 * H), s1(attention_workspace_floats(small, 4)),
      s2(attention_workspace_floats(padded, 7));
  attention(ctx_small.data(), s1.data(), qkv_small.data(), len.data(), small, 4);
  attention(ctx_padded.data(), s2.data(), qkv_padded.data(), len.data(), padded, 7);
  for (int64_t i = 0; i < 4 * H; ++i) ASSERT_NEAR(ctx_small[i], ctx_padded[i], 1e-6);
}

TEST(Attention, FirstQueryOnlyEqualsTheFirstRowOfTheFullResult) {
  const AttentionShape shape{2, 6, 3, 8};
  const int64_t H = shape.hidden();
  const auto qkv = random_vector(2 * 6 * 3 * H, 13);
  const std::vector<int32_t> lengths = {6, 3};
  std::vector<float> full(2 * 6 * H), first(2 * H), scores(attention_workspace_floats(shape, 6));
  attention(full.data(), scores.data(), qkv.data(), lengths.data(), shape, 6);
  attention(first.data(), scores.data(), qkv.data(), lengths.data(), shape, 1);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t i = 0; i < H; ++i) ASSERT_NEAR(first[b * H + i], full[b * 6 * H + i], 1e-6);
}

// Odd lengths (a full sequence, one of 33, one of 1) against the twin, and the same bits at one and
// at two threads.
TEST(Attention, OddLengthsMatchTheReferenceAtOneAndTwoThreads) {
  const AttentionShape shape{3, 77, 3, 32};
  const int64_t H = shape.hidden();
  const auto qkv = random_vector(shape.batch * shape.tokens * 3 * H, 14, -1.0f, 1.0f);
  const std::vector<int32_t> lengths = {77, 33, 1};
  std::vector<float> ref(shape.batch * shape.tokens * H);
  reference::attention(ref.data(), qkv.data(), lengths.data(), shape);
  std::vector<std::vector<float>> ctx;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    std::vector<float> out(ref.size()), scores(attention_workspace_floats(shape, shape.tokens));
    attention(out.data(), scores.data(), qkv.data(), lengths.data(), shape, shape.tokens);
    ctx.push_back(out);
  }
  set_num_threads(0);
  for (int64_t b = 0; b < shape.batch; ++b)
    for (int64_t t = 0; t < lengths[b]; ++t)
      for (int64_t i = 0; i < H; ++i) {
        const size_t at = (b * shape.tokens + t) * H + i;
        ASSERT_NEAR(ctx[0][at], ref[at], 2e-6) << "b=" << b << " t=" << t << " i=" << i;
        ASSERT_EQ(ctx[0][at], ctx[1][at]) << "b=" << b << " t=" << t << " i=" << i;
      }
}

}  // namespace
}  // namespace squish
