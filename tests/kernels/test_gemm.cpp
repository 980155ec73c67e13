// The oneDNN GEMM path against the double-precision reference, with an error bound from the
// standard model of floating-point summation: |y - ref| <= gamma_K * sum_p |x_p||w_p| (+ the bias),
// gamma_K ~ K * eps. A kernel that drops a term or misreads a layout is off by O(|x||w|), far outside it.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/reference/reference_ops.h"

namespace squish {
namespace {

std::vector<float> random_vector(size_t n, uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

struct GemmCase {
  int64_t m, n, k;
  Epilogue epilogue;
};

class GemmTest : public ::testing::TestWithParam<GemmCase> {};

TEST_P(GemmTest, MatchesReferenceWithinErrorBound) {
  const auto [m, n, k, epilogue] = GetParam();
  const auto x = random_vector(m * k, 1), w = random_vector(n * k, 2, 0.1f), b = random_vector(n, 3);
  const auto y0 = random_vector(m * n, 4);  // initial contents matter for kAccumulate
  std::vector<float> y = y0, ref = y0;
  const PackedWeights packed = PackedWeights::pack(w.data(), n, k);
  gemm_packed(y.data(), x.data(), packed, b.data(), m, epilogue);
  reference::linear(ref.data(), x.data(), w.data(), b.data(), m, n, k, epilogue);
  const double eps = 1.2e-7;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double abs_sum = std::fabs(b[j]) + (epilogue == Epilogue::kAccumulate ? std::fabs(y0[i * n + j]) : 0.0);
      for (int64_t p = 0; p < k; ++p) abs_sum += std::fabs(x[i * k + p] * w[j * k + p]);
      // The activations are 1-Lipschitz (up to 1.13 for GELU), so the same bound holds after them,
      // plus the activation's own approximation error.
      const double bound = 2.0 * (k + 2) * eps * abs_sum + 1e-6;
      ASSERT_NEAR(y[i * n + j], ref[i * n + j], bound) << "at (" << i << ", " << j << ")";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemmTest,
                         ::testing::Values(GemmCase{1, 1, 1, Epilogue::kNone}, GemmCase{1, 768, 768, Epilogue::kNone},
                                           GemmCase{7, 96, 33, Epilogue::kGelu},
                                           GemmCase{128, 384, 128, Epilogue::kGelu},
                                           GemmCase{5, 64, 256, Epilogue::kTanh}, GemmCase{9, 80, 37, Epilogue::kRelu},
                                           GemmCase{130, 128, 512, Epilogue::kAccumulate},
                                           GemmCase{3, 2, 128, Epilogue::kNone}));

TEST(Gemm, SamePackedWeightsServeEveryM) {
  const int64_t n = 64, k = 48;
  const auto w = random_vector(n * k, 5), b = random_vector(n, 6);
  const PackedWeights packed = PackedWeights::pack(w.data(), n, k);
  for (int64_t m : {1, 2, 31, 128, 300}) {
    const auto x = random_vector(m * k, 7 + m);
    std::vector<float> y(m * n), ref(m * n);
    gemm_packed(y.data(), x.data(), packed, b.data(), m, Epilogue::kNone);
    reference::linear(ref.data(), x.data(), w.data(), b.data(), m, n, k, Epilogue::kNone);
    for (int64_t i = 0; i < m * n; ++i) ASSERT_NEAR(y[i], ref[i], 1e-4) << "m=" << m << " i=" << i;
  }
}

TEST(Gemm, PrimitiveCacheStaysBoundedAcrossManyRowCounts) {
  const int64_t n = 32, k = 16;
  const auto w = random_vector(n * k, 10), b = random_vector(n, 11);
  const PackedWeights packed = PackedWeights::pack(w.data(), n, k);
  // Length bucketing gives every batch its own M; the cache must not grow with them.
  for (int64_t m = 1; m <= 40; ++m) {
    const auto x = random_vector(m * k, 12 + m);
    std::vector<float> y(m * n), ref(m * n);
    gemm_packed(y.data(), x.data(), packed, b.data(), m, Epilogue::kNone);
    reference::linear(ref.data(), x.data(), w.data(), b.data(), m, n, k, Epilogue::kNone);
    for (int64_t i = 0; i < m * n; ++i) ASSERT_NEAR(y[i], ref[i], 1e-4) << "m=" << m;
    EXPECT_LE(packed.cached_primitives(), kPrimitivesPerWeight);
  }
  EXPECT_EQ(packed.cached_primitives(), kPrimitivesPerWeight);
}

// One-row products ([CLS]-only rows, a single sequence's head, one target) run on a single thread:
// oneDNN's AVX2 GEMM treats them as matrix-vector products and splits their dot products across
// threads, which made logits depend on the thread count (and a distributed run on its ranks).
// Checked on every ISA; the AVX2 path is where it failed (kernels.all_on_avx2).
TEST(Gemm, ResultsDoNotDependOnTheThreadCount) {
  for (const int64_t m : {1, 2, 19})
    for (const auto& [n, k] : {std::pair<int64_t, int64_t>{576, 1536}, {128, 512}, {960, 576}}) {
      const auto x = random_vector(m * k, 5), w = random_vector(n * k, 6, 0.1f), y0 = random_vector(m * n, 7);
      const PackedWeights packed = PackedWeights::pack(w.data(), n, k);
      std::vector<float> one = y0, two = y0;
      const int before = omp_get_max_threads();
      omp_set_num_threads(1);
      gemm_packed(one.data(), x.data(), packed, nullptr, m, Epilogue::kAccumulate);
      omp_set_num_threads(2);
      gemm_packed(two.data(), x.data(), packed, nullptr, m, Epilogue::kAccumulate);
      omp_set_num_threads(before);
      EXPECT_EQ(one, two) << m << "x" << n << "x" << k;
    }
  // Attention's [CLS]-only products: one query row against every key, per head.
  const int64_t heads = 2, t = 19, hd = 64;
  const auto q = random_vector(heads * hd, 8), keys = random_vector(heads * t * hd, 9);
  std::vector<float> one(heads * t), two(heads * t);
  const StridedMatrix a{q.data(), hd, hd, 1}, b{keys.data(), t * hd, 1, hd};
  const int64_t c_strides[3] = {t, t, 1};
  const int before = omp_get_max_threads();
  omp_set_num_threads(1);
  batched_gemm(one.data(), c_strides, a, b, heads, 1, t, hd);
  omp_set_num_threads(2);
  batched_gemm(two.data(), c_strides, a, b, heads, 1, t, hd);
  omp_set_num_threads(before);
  EXPECT_EQ(one, two);
}

TEST(Gemm, UnpackGivesBackTheExactWeights) {
  for (auto [n, k] : {std::pair<int64_t, int64_t>{2, 128}, {96, 33}, {768, 64}}) {
    const auto w = random_vector(n * k, 13);
    const PackedWeights packed = PackedWeights::pack(w.data(), n, k);
    std::vector<float> back(n * k);
    packed.unpack(back.data());
    EXPECT_EQ(back, w) << n << "x" << k;
    EXPECT_GE(packed.bytes(), n * k * static_cast<int64_t>(sizeof(float)));
  }
}

// The epilogue kernel of integer back ends, against its double-precision twin, for every kind.
TEST(Epilogue, DequantizingVariantMatchesReference) {
  const int64_t m = 6, n = 40;
  std::mt19937_64 rng(17);
  std::uniform_int_distribution<int32_t> acc_d(-200000, 200000), zero_d(0, 255), sum_d(-3000, 3000);
  std::vector<int32_t> acc(m * n), zeros(m), sums(n);
  for (auto& v : acc) v = acc_d(rng);
  for (auto& v : zeros) v = zero_d(rng);
  for (auto& v : sums) v = sum_d(rng);
  const auto row_scales = random_vector(m, 18, 0.01f), col_scales = random_vector(n, 19, 0.001f);
  const auto bias = random_vector(n, 20), y0 = random_vector(m * n, 21);
  for (Epilogue e : {Epilogue::kNone, Epilogue::kGelu, Epilogue::kTanh, Epilogue::kAccumulate, Epilogue::kRelu}) {
    std::vector<float> y = y0, ref = y0;
    apply_dequant_epilogue(y.data(), acc.data(), row_scales.data(), zeros.data(), col_scales.data(), sums.data(),
                           bias.data(), m, n, e);
    reference::dequant_epilogue(ref.data(), acc.data(), row_scales.data(), zeros.data(), col_scales.data(), sums.data(),
                                bias.data(), m, n, e);
    for (int64_t i = 0; i < m * n; ++i) ASSERT_NEAR(y[i], ref[i], 4e-6 * (1 + std::fabs(ref[i]))) << static_cast<int>(e);
  }
}

TEST(Gemm, BatchedStridedProductMatchesLoops) {
  // c[n] = a[n] (m x k) * bmat[n] (k x n) with bmat read transposed out of a wider buffer.
  const int64_t batch = 3, m = 5, n = 4, k = 6, ld = 20;
  const auto a = random_vector(batch * m * k, 8), buf = random_vector(batch * n * ld, 9);
  std::vector<float> c(batch * m * n);
  const int64_t c_strides[3] = {m * n, n, 1};
  const StridedMatrix am{a.data(), m * k, k, 1};
  // bmat[b][p][j] = buf[(b*n + j)*ld + p]
  const StridedMatrix bm{buf.data(), n * ld, 1, ld};
  batched_gemm(c.data(), c_strides, am, bm, batch, m, n, k);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p) acc += a[(b * m + i) * k + p] * buf[(b * n + j) * ld + p];
        ASSERT_NEAR(c[(b * m + i) * n + j], acc, 1e-5);
      }
}

}  // namespace
}  // namespace squish
