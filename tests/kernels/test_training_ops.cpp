// The training kernels of matmul.h and training_ops.h against their scalar twins
// (kernels/reference/training_reference.h) on every ISA variant, every backward against central
// differences of its forward (error model in gradient_check.h), the accumulate-or-write contract,
// and results that do not change with the thread count.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "core/random.h"
#include "gradient_check.h"
#include "kernels/matmul.h"
#include "kernels/reference/training_reference.h"
#include "kernels/training_ops.h"
#include "kernels/training_row_ops.h"

namespace squish {
namespace {

using testing_support::available_isas;
using testing_support::central_differences;
using testing_support::random_vector;
using testing_support::weighted_sum;

constexpr double kUnit = 1.0 / 16777216.0;  // 2^-24, fp32's unit roundoff

// Runs fn at 1 and at 2 threads and restores the default.
template <class Fn>
void at_threads(int threads, Fn&& fn) {
  const int before = omp_get_max_threads();
  omp_set_num_threads(threads);
  fn();
  omp_set_num_threads(before);
}

// Error model: a length-k fp32 dot product is within γ_k·Σ|a·b| (γ_k ≈ k·2^-24) of the exact value
// in the worst case, but rounding errors of blocked FMA sums behave like a random walk, ~√k·u·Σ|a·b|;
// the tolerance is 2·√k·u·Σ|a·b| (plus a rounding of c when accumulating), which a wrong operand
// layout misses by orders of magnitude. The reference is exact to double.
TEST(TrainingMatmul, EveryTransposeAndAccumulateMatchesReference) {
  for (auto [m, n, k] : {std::array<int64_t, 3>{7, 13, 29}, {64, 48, 384}, {1, 384, 1536}}) {
    for (Transpose ta : {Transpose::kNo, Transpose::kYes})
      for (Transpose tb : {Transpose::kNo, Transpose::kYes})
        for (Accumulate acc : {Accumulate::kNo, Accumulate::kYes}) {
          const auto a = random_vector(m * k, 1), b = random_vector(k * n, 2);
          auto c = random_vector(m * n, 3), ref = c, prefilled = c;
          matmul(c.data(), a.data(), b.data(), m, n, k, ta, tb, acc);
          reference::matmul(ref.data(), a.data(), b.data(), m, n, k, ta, tb, acc);
          std::vector<float> abs_a(a.size()), abs_b(b.size()), mass(m * n);
          std::transform(a.begin(), a.end(), abs_a.begin(), [](float v) { return std::fabs(v); });
          std::transform(b.begin(), b.end(), abs_b.begin(), [](float v) { return std::fabs(v); });
          reference::matmul(mass.data(), abs_a.data(), abs_b.data(), m, n, k, ta, tb, Accumulate::kNo);
          for (int64_t i = 0; i < m * n; ++i) {
            const double tol = 2 * std::sqrt(static_cast<double>(k)) * kUnit * mass[i] + 2 * kUnit * std::fabs(ref[i]);
            ASSERT_NEAR(c[i], ref[i], tol) << m << "x" << n << "x" << k << " ta=" << (ta == Transpose::kYes)
                                           << " tb=" << (tb == Transpose::kYes) << " acc=" << (acc == Accumulate::kYes);
          }
          if (acc == Accumulate::kYes) {
            // The pre-filled values really were added: the difference from a fresh product is c's old value.
            std::vector<float> fresh(m * n);
            matmul(fresh.data(), a.data(), b.data(), m, n, k, ta, tb, Accumulate::kNo);
            for (int64_t i = 0; i < m * n; ++i) ASSERT_NEAR(c[i] - fresh[i], prefilled[i], 4 * std::sqrt(static_cast<double>(k)) * kUnit * (mass[i] + 1));
          }
        }
  }
}

// A head's view into [T, 3H] rows, as attention uses it: only the view's elements are written.
TEST(TrainingMatmul, StridedViewsTouchOnlyTheirElements) {
  const int64_t m = 5, n = 3, k = 4, lda = 10, ldb = 7, ldc = 6;
  const auto a = random_vector(m * lda, 4), b = random_vector(n * ldb, 5);
  std::vector<float> c(m * ldc, 42.0f);
  matmul_strided(c.data(), ldc, a.data(), lda, b.data(), ldb, m, n, k, Transpose::kNo, Transpose::kYes, Accumulate::kNo);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < ldc; ++j) {
      if (j >= n) {
        EXPECT_EQ(c[i * ldc + j], 42.0f);
        continue;
      }
      double dot = 0;
      for (int64_t p = 0; p < k; ++p) dot += static_cast<double>(a[i * lda + p]) * b[j * ldb + p];
      EXPECT_NEAR(c[i * ldc + j], dot, 8 * kUnit * k);
    }
}

TEST(TrainingMatmul, InvalidArgumentsThrowSquishError) {
  std::vector<float> a(4), b(4), c(4);
  // lda smaller than the row length is refused by sgemm.
  EXPECT_THROW(matmul_strided(c.data(), 2, a.data(), 1, b.data(), 2, 2, 2, 2, Transpose::kNo, Transpose::kNo,
                              Accumulate::kNo),
               Error);
}

// Inputs that cover the inner polynomial, the switch at |x/√2| = 0.9277 (|x| = 1.312) and both tails.
std::vector<float> gelu_inputs() {
  auto x = random_vector(4099, 11, -9.0f, 9.0f);
  for (float v : {0.0f, 1e-6f, -1e-6f, 1.3119f, 1.3121f, -1.3119f, -1.3121f, -5.0f, 5.0f, -30.0f, 30.0f})
    x.push_back(v);
  return x;
}

// Error model: 1 + erf is within ~2 ulp of 2 (2.4e-7 absolute) and the negative tail e^q is within
// 2e-4 relative (vector_math_impl.h), so |y − ref| <= |x|/2 · 2.4e-7 + a rounding of y;
// Φ + x·φ adds exp's few-ulp error on x·φ.
TEST(TrainingGelu, ForwardAndBackwardMatchReferenceOnEveryIsa) {
  const auto x = gelu_inputs();
  const int64_t n = static_cast<int64_t>(x.size());
  const auto dy = random_vector(n, 12, -2.0f, 2.0f);
  std::vector<float> ref_y(n), ref_dx(n);
  reference::gelu_forward(ref_y.data(), x.data(), n);
  reference::gelu_backward(ref_dx.data(), dy.data(), x.data(), n);
  for (Isa isa : available_isas()) {
    const TrainingRowOps& ops = training_row_ops_for(isa);
    std::vector<float> y(n), dx(n);
    ops.gelu_forward(y.data(), x.data(), n);
    ops.gelu_backward(dx.data(), dy.data(), x.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_NEAR(y[i], ref_y[i], 1.2e-7 * std::fabs(x[i]) + 2 * kUnit * std::fabs(ref_y[i]) + 1e-30)
          << isa_name(isa) << " x=" << x[i];
      ASSERT_NEAR(dx[i], ref_dx[i], std::fabs(dy[i]) * 4e-7 + 2 * kUnit * std::fabs(ref_dx[i]))
          << isa_name(isa) << " x=" << x[i];
    }
  }
  // The dispatched entry points, and dx aliasing dy.
  std::vector<float> y(n), dx = dy;
  gelu_forward(y.data(), x.data(), n);
  gelu_backward(dx.data(), dx.data(), x.data(), n);
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_NEAR(y[i], ref_y[i], 1.2e-7 * std::fabs(x[i]) + 2 * kUnit * std::fabs(ref_y[i]) + 1e-30);
    ASSERT_NEAR(dx[i], ref_dx[i], std::fabs(dy[i]) * 4e-7 + 2 * kUnit * std::fabs(ref_dx[i]));
  }
}

// h = 1/64 on the reference forward: roundoff 2^-24·|gelu(x)|/h <= 1e-5 for |x| <= 9, truncation
// h²/6·|gelu'''| <= 4e-5·0.8; tolerance 1e-4.
TEST(TrainingGelu, BackwardIsTheForwardsDerivative) {
  const auto x = random_vector(257, 13, -6.0f, 6.0f);
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<float> ones(n, 1.0f), dx(n);
  gelu_backward(dx.data(), ones.data(), x.data(), n);
  for (int64_t i = 0; i < n; ++i) {
    const auto fd = central_differences({x[i]}, [](const std::vector<float>& v) {
      float y;
      reference::gelu_forward(&y, v.data(), 1);
      return static_cast<double>(y);
    }, 1.0f / 64);
    ASSERT_NEAR(dx[i], fd[0], 1e-4) << "x=" << x[i];
  }
}

TEST(TrainingTanh, BackwardIsTheDerivativeOfTanh) {
  const auto x = random_vector(100, 14, -4.0f, 4.0f);
  const auto dy = random_vector(100, 15);
  std::vector<float> y(100), dx(100);
  for (int i = 0; i < 100; ++i) y[i] = std::tanh(x[i]);
  tanh_backward(dx.data(), dy.data(), y.data(), 100);
  for (int i = 0; i < 100; ++i) {
    const double exact = dy[i] / (std::cosh(static_cast<double>(x[i])) * std::cosh(static_cast<double>(x[i])));
    ASSERT_NEAR(dx[i], exact, 4 * kUnit * std::fabs(dy[i]));  // y rounded once, 1 − y² cancels at most to ~2 ulp
  }
}

struct LayerNormCase {
  int64_t rows, n;
  std::vector<float> x, gamma, beta, dy;
};

LayerNormCase layernorm_case(int64_t rows, int64_t n, uint64_t seed) {
  // A non-zero mean, as real activations have, and gamma away from 1.
  return {rows, n, random_vector(rows * n, seed, -3.0f, 5.0f), random_vector(n, seed + 1, 0.5f, 1.5f),
          random_vector(n, seed + 2), random_vector(rows * n, seed + 3)};
}

// Error model: the row statistics are fp32 sums of n terms in (at most) n/1 sequential steps, so
// mean and variance are within ~√n·u typical, n·u worst (768: 4.6e-5); x̂ inherits that. The
// tolerance 2e-5·(1 + |ref|) is the typical bound with a 10x margin for n <= 768, and is what the
// inference LayerNorm's test uses. dgamma/dbeta add one rounding per row: rows·u·Σ|term|.
// dx = rstd·(g − mean(g) − ...) amplifies the rounding of g by rstd, so rows must have a spread:
// n = 1 (rstd = 1/√eps = 1e6) makes dx pure rounding noise around 0 and is not a case here.
TEST(TrainingLayerNorm, ForwardAndBackwardMatchReferenceOnEveryIsa) {
  for (int64_t n : {2, 15, 17, 384, 768}) {
    const int64_t rows = 70;  // more than one 64-row partial
    const LayerNormCase c = layernorm_case(rows, n, 20 + n);
    std::vector<float> ref_y(rows * n), ref_mean(rows), ref_rstd(rows), ref_dx(rows * n);
    std::vector<float> ref_dgamma(n, 0.5f), ref_dbeta(n, -0.25f);
    reference::layernorm_forward(ref_y.data(), ref_mean.data(), ref_rstd.data(), c.x.data(), c.gamma.data(),
                                 c.beta.data(), rows, n, 1e-12f);
    reference::layernorm_backward(ref_dx.data(), ref_dgamma.data(), ref_dbeta.data(), c.dy.data(), c.x.data(),
                                  ref_mean.data(), ref_rstd.data(), c.gamma.data(), rows, n);
    for (Isa isa : available_isas()) {
      const TrainingRowOps& ops = training_row_ops_for(isa);
      std::vector<float> y(rows * n), mean(rows), rstd(rows), dx(rows * n), dgamma(n, 0.5f), dbeta(n, -0.25f);
      ops.layernorm_forward(y.data(), mean.data(), rstd.data(), c.x.data(), c.gamma.data(), c.beta.data(), rows, n,
                            1e-12f);
      ops.layernorm_backward(dx.data(), dgamma.data(), dbeta.data(), c.dy.data(), c.x.data(), mean.data(), rstd.data(),
                             c.gamma.data(), rows, n);
      for (int64_t r = 0; r < rows; ++r) {
        ASSERT_NEAR(mean[r], ref_mean[r], 2e-5 * (1 + std::fabs(ref_mean[r]))) << isa_name(isa) << " n=" << n;
        ASSERT_NEAR(rstd[r], ref_rstd[r], 2e-5 * ref_rstd[r]) << isa_name(isa) << " n=" << n;
      }
      for (int64_t i = 0; i < rows * n; ++i) {
        ASSERT_NEAR(y[i], ref_y[i], 2e-5 * (1 + std::fabs(ref_y[i]))) << isa_name(isa) << " n=" << n;
        ASSERT_NEAR(dx[i], ref_dx[i], 2e-5 * (1 + std::fabs(ref_dx[i]))) << isa_name(isa) << " n=" << n;
      }
      for (int64_t j = 0; j < n; ++j) {
        ASSERT_NEAR(dgamma[j], ref_dgamma[j], 2e-5 * rows) << isa_name(isa) << " n=" << n;
        ASSERT_NEAR(dbeta[j], ref_dbeta[j], 2 * kUnit * rows * rows) << isa_name(isa) << " n=" << n;
      }
    }
    // The dispatched entry point over 64-row partials accumulates into pre-filled dgamma/dbeta too.
    std::vector<float> y(rows * n), mean(rows), rstd(rows), dx(rows * n), dgamma(n, 0.5f), dbeta(n, -0.25f);
    layernorm_forward(y.data(), mean.data(), rstd.data(), c.x.data(), c.gamma.data(), c.beta.data(), rows, n, 1e-12f);
    layernorm_backward(dx.data(), dgamma.data(), dbeta.data(), c.dy.data(), c.x.data(), mean.data(), rstd.data(),
                       c.gamma.data(), rows, n);
    for (int64_t j = 0; j < n; ++j) {
      ASSERT_NEAR(dgamma[j], ref_dgamma[j], 2e-5 * rows) << "n=" << n;
      ASSERT_NEAR(dbeta[j], ref_dbeta[j], 2 * kUnit * rows * rows) << "n=" << n;
    }
    for (int64_t i = 0; i < rows * n; ++i) ASSERT_NEAR(dx[i], ref_dx[i], 2e-5 * (1 + std::fabs(ref_dx[i])));
  }
}

// Loss Σ dy·y over 3 rows of 16, mass Σ|dy·y| <= 48 · 2.5 = 120. With h = 1/32 on the reference
// forward: roundoff 2^-24 · 120 / h = 2.3e-4, truncation h²/6 · |L'''| ~ 1.6e-4 · |L'''|;
// tolerance 1e-3 against gradients of order 0.5 (a wrong term is off by ~0.1 or more).
TEST(TrainingLayerNorm, BackwardIsTheForwardsGradient) {
  const int64_t rows = 3, n = 16;
  const LayerNormCase c = layernorm_case(rows, n, 30);
  std::vector<float> y(rows * n), mean(rows), rstd(rows), dx(rows * n), dgamma(n, 0.0f), dbeta(n, 0.0f);
  layernorm_forward(y.data(), mean.data(), rstd.data(), c.x.data(), c.gamma.data(), c.beta.data(), rows, n, 1e-12f);
  layernorm_backward(dx.data(), dgamma.data(), dbeta.data(), c.dy.data(), c.x.data(), mean.data(), rstd.data(),
                     c.gamma.data(), rows, n);
  auto loss = [&](const std::vector<float>& x, const std::vector<float>& gamma, const std::vector<float>& beta) {
    std::vector<float> out(rows * n), m(rows), s(rows);
    reference::layernorm_forward(out.data(), m.data(), s.data(), x.data(), gamma.data(), beta.data(), rows, n, 1e-12f);
    return weighted_sum(c.dy, out);
  };
  const float h = 1.0f / 32;
  const auto fd_x = central_differences(c.x, [&](const std::vector<float>& v) { return loss(v, c.gamma, c.beta); }, h);
  const auto fd_gamma = central_differences(c.gamma, [&](const std::vector<float>& v) { return loss(c.x, v, c.beta); }, h);
  const auto fd_beta = central_differences(c.beta, [&](const std::vector<float>& v) { return loss(c.x, c.gamma, v); }, h);
  for (int64_t i = 0; i < rows * n; ++i) ASSERT_NEAR(dx[i], fd_x[i], 1e-3) << "x " << i;
  for (int64_t j = 0; j < n; ++j) {
    ASSERT_NEAR(dgamma[j], fd_gamma[j], 1e-3) << "gamma " << j;
    ASSERT_NEAR(dbeta[j], fd_beta[j], 1e-3) << "beta " << j;
  }
}

TEST(TrainingBias, AddAndBackwardAccumulate) {
  const int64_t rows = 130, n = 257;  // 3 partials, not a multiple of any vector width
  const auto dy = random_vector(rows * n, 40), b = random_vector(n, 41);
  std::vector<float> db(n, 2.0f), ref = db;
  bias_backward(db.data(), dy.data(), rows, n);
  reference::bias_backward(ref.data(), dy.data(), rows, n);
  for (int64_t j = 0; j < n; ++j) ASSERT_NEAR(db[j], ref[j], rows * kUnit * (rows + 2)) << j;
  std::vector<float> y = dy;
  add_bias(y.data(), b.data(), rows, n);
  for (int64_t i = 0; i < rows * n; ++i) ASSERT_EQ(y[i], dy[i] + b[i % n]);
}

TEST(TrainingDropout, MaskIsThreadCountIndependentAndKeepsOneMinusP) {
  const int64_t n = 1 << 20;  // well past the parallel threshold
  const float p = 0.1f;
  const uint64_t stream = random_stream(7, 3, 1);
  std::vector<uint8_t> one(n), two(n);
  at_threads(1, [&] { dropout_mask(one.data(), n, p, stream); });
  at_threads(2, [&] { dropout_mask(two.data(), n, p, stream); });
  EXPECT_EQ(one, two);
  const double kept = std::accumulate(one.begin(), one.end(), 0.0) / n;
  // Binomial: σ = sqrt(p(1−p)/n) = 2.9e-4; 5σ.
  EXPECT_NEAR(kept, 1.0 - p, 5 * std::sqrt(p * (1 - p) / n));
  // A pure function of (stream, i): element i is random_uniform(stream, i) >= p.
  for (int64_t i : {int64_t{0}, int64_t{12345}, n - 1}) EXPECT_EQ(one[i], random_uniform(stream, i) >= p ? 1 : 0);
  std::vector<uint8_t> other(n);
  dropout_mask(other.data(), n, p, stream + 1);
  EXPECT_NE(one, other);
  EXPECT_THROW(dropout_mask(one.data(), n, 1.0f, stream), Error);
}

// Rows keyed by what they hold: a row draws the same mask wherever it sits and however long its
// buffer's rows are padded, as a batch split across ranks needs (model/bert/bert_training.cpp).
TEST(TrainingDropout, KeyedRowsDrawTheirValuesWhereverTheySit) {
  const uint64_t stream = random_stream(11, 2, 3);
  const float p = 0.3f;
  // Flat keys are dropout_mask itself.
  const int64_t rows = 300, cols = 97;
  std::vector<uint64_t> flat(rows);
  for (int64_t r = 0; r < rows; ++r) flat[static_cast<size_t>(r)] = static_cast<uint64_t>(r * cols);
  std::vector<uint8_t> keyed(rows * cols), plain(rows * cols);
  at_threads(2, [&] { dropout_mask_rows(keyed.data(), rows, cols, p, stream, flat.data()); });
  dropout_mask(plain.data(), rows * cols, p, stream);
  EXPECT_EQ(keyed, plain);
  // Row key 1000: the same first 40 values in a 40-wide buffer (a shorter padding) at another row.
  const uint64_t keys[2] = {5000, 1000};
  std::vector<uint8_t> narrow(2 * 40), wide(97);
  dropout_mask_rows(narrow.data(), 2, 40, p, stream, keys);
  dropout_mask_rows(wide.data(), 1, 97, p, stream, keys + 1);
  EXPECT_TRUE(std::equal(narrow.begin() + 40, narrow.end(), wide.begin()));
  EXPECT_THROW(dropout_mask_rows(wide.data(), 1, 97, 1.0f, stream, keys), Error);
}

TEST(TrainingDropout, ApplyScalesKeptValuesAndZeroesTheRest) {
  const int64_t n = 1000;
  const float p = 0.25f;
  std::vector<uint8_t> keep(n);
  dropout_mask(keep.data(), n, p, 99);
  const auto x = random_vector(n, 50);
  std::vector<float> y = x;
  dropout_apply(y.data(), y.data(), keep.data(), n, p);  // in place, as the contract allows
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], keep[i] ? x[i] * (1.0f / 0.75f) : 0.0f);
  // p = 0 keeps everything unchanged.
  dropout_mask(keep.data(), n, 0.0f, 99);
  dropout_apply(y.data(), x.data(), keep.data(), n, 0.0f);
  EXPECT_EQ(y, x);
}

// Loss and gradient against the double twin (the fast one is also double inside: agreement to
// fp32 rounding), and the gradient against central differences: h = 1/256 on logits of order 3,
// loss mass ~1, roundoff 2^-24·256 = 1.5e-5, truncation h²/6 · |L'''| <= 2.5e-6 → tolerance 5e-5.
TEST(TrainingCrossEntropy, MatchesReferenceAndIsTheLossGradient) {
  const int64_t batch = 5, classes = 3;
  const auto logits = random_vector(batch * classes, 60, -3.0f, 3.0f);
  const std::vector<int32_t> labels = {0, 2, 1, 1, 0};
  std::vector<float> grad(batch * classes), ref_grad(batch * classes);
  const float loss = softmax_cross_entropy(grad.data(), logits.data(), labels.data(), batch, classes, batch);
  const float ref_loss =
      reference::softmax_cross_entropy(ref_grad.data(), logits.data(), labels.data(), batch, classes, batch);
  EXPECT_NEAR(loss, ref_loss, 2 * kUnit * ref_loss);
  for (int64_t i = 0; i < batch * classes; ++i) ASSERT_NEAR(grad[i], ref_grad[i], 2 * kUnit);
  const auto fd = central_differences(logits, [&](const std::vector<float>& v) {
    std::vector<float> unused(batch * classes);
    return static_cast<double>(
        reference::softmax_cross_entropy(unused.data(), v.data(), labels.data(), batch, classes, batch));
  }, 1.0f / 256);
  for (int64_t i = 0; i < batch * classes; ++i) ASSERT_NEAR(grad[i], fd[i], 5e-5) << i;
  // Large logits do not overflow (the max is subtracted first).
  const std::vector<float> big = {1000.0f, 0.0f};
  const int32_t first = 0;
  std::vector<float> g(2);
  EXPECT_NEAR(softmax_cross_entropy(g.data(), big.data(), &first, 1, 2, 1), 0.0f, 1e-6);
  const int32_t bad = 3;
  EXPECT_THROW(softmax_cross_entropy(g.data(), big.data(), &bad, 1, 2, 1), DataError);
}

// A batch cut into shares, each divided by the whole batch's count (a distributed step): every row's
// gradient is the whole batch's bit for bit, and the shares' losses add up to its mean.
TEST(TrainingCrossEntropy, SharesOfABatchDividedByItsCountGiveItsGradientRows) {
  const int64_t batch = 7, classes = 3, first = 3;
  const auto logits = random_vector(batch * classes, 61, -3.0f, 3.0f);
  const std::vector<int32_t> labels = {0, 2, 1, 1, 0, 2, 2};
  std::vector<float> whole(batch * classes), front(first * classes), back((batch - first) * classes);
  const float loss = softmax_cross_entropy(whole.data(), logits.data(), labels.data(), batch, classes, batch);
  const float front_loss = softmax_cross_entropy(front.data(), logits.data(), labels.data(), first, classes, batch);
  const float back_loss = softmax_cross_entropy(back.data(), logits.data() + first * classes, labels.data() + first,
                                                batch - first, classes, batch);
  front.insert(front.end(), back.begin(), back.end());
  EXPECT_EQ(front, whole);
  EXPECT_NEAR(front_loss + back_loss, loss, 2 * kUnit * loss);
}

TEST(TrainingEmbedding, BackwardAccumulatesRepeatedIdsInRowOrder) {
  const int64_t vocab = 11, n = 37, rows = 300;  // many repeats of each id
  std::vector<int32_t> ids(rows);
  for (int64_t r = 0; r < rows; ++r) {
    const auto id = static_cast<int32_t>((r * 7) % vocab);
    ids[r] = id == 4 ? 5 : id;
  }
  const auto dy = random_vector(rows * n, 70);
  const auto prefilled = random_vector(vocab * n, 71);
  std::vector<float> one = prefilled, two = prefilled, ref = prefilled;
  at_threads(1, [&] { embedding_backward(one.data(), dy.data(), ids.data(), rows, n); });
  at_threads(2, [&] { embedding_backward(two.data(), dy.data(), ids.data(), rows, n); });
  reference::embedding_backward(ref.data(), dy.data(), ids.data(), rows, n);
  EXPECT_EQ(one, two);
  EXPECT_EQ(one, ref);  // the same fp32 additions in the same order
  // Id 4 never occurs: its row is untouched.
  for (int64_t j = 0; j < n; ++j) ASSERT_EQ(one[4 * n + j], prefilled[4 * n + j]);
}

TEST(TrainingDeterminism, ColumnSumsAreIdenticalAtOneAndTwoThreads) {
  const int64_t rows = 4096, n = 384;  // MiniLM: B·T tokens, H
  const LayerNormCase c = layernorm_case(rows, n, 80);
  std::vector<float> y(rows * n), mean(rows), rstd(rows);
  layernorm_forward(y.data(), mean.data(), rstd.data(), c.x.data(), c.gamma.data(), c.beta.data(), rows, n, 1e-12f);
  auto run = [&](int threads) {
    std::vector<float> out(rows * n + 3 * n, 0.0f);
    at_threads(threads, [&] {
      layernorm_backward(out.data(), out.data() + rows * n, out.data() + rows * n + n, c.dy.data(), c.x.data(),
                         mean.data(), rstd.data(), c.gamma.data(), rows, n);
      bias_backward(out.data() + rows * n + 2 * n, c.dy.data(), rows, n);
    });
    return out;
  };
  EXPECT_EQ(run(1), run(2));
}

}  // namespace
}  // namespace squish
