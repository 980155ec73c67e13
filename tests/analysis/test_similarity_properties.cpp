// What SVCCA, PWCCA and linear CKA must satisfy whatever the data: 1 against themselves, the
// invariances each measure is defined to have, near 0 for independent samples (bounds derived below),
// no NaN from constant features, and clear errors for shapes the measures cannot handle.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "analysis/similarity.h"
#include "core/error.h"

namespace squish {
namespace {

using ::testing::HasSubstr;

// Owned activations, row-major as ActivationMatrix borrows them.
struct Samples {
  int64_t rows = 0, cols = 0;
  std::vector<float> values;
  float& at(int64_t r, int64_t c) { return values[static_cast<size_t>(r * cols + c)]; }
  float at(int64_t r, int64_t c) const { return values[static_cast<size_t>(r * cols + c)]; }
  ActivationMatrix view() const { return {values.data(), rows, cols}; }
};

Samples gaussian(int64_t rows, int64_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Samples s{rows, cols, std::vector<float>(static_cast<size_t>(rows * cols))};
  for (float& v : s.values) v = static_cast<float>(normal(rng));
  return s;
}

// A [rows, cols] row-major map: `mix` times a Gaussian matrix plus `diagonal` on the diagonal.
std::vector<double> linear_map(int64_t rows, int64_t cols, double diagonal, double mix, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<double> m(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      m[static_cast<size_t>(i * cols + j)] = mix * normal(rng) + (i == j ? diagonal : 0);
  return m;
}

std::vector<double> linear_map(int64_t n, double diagonal, double mix, uint64_t seed) {
  return linear_map(n, n, diagonal, mix, seed);
}

// A rotation: Gram–Schmidt on a Gaussian matrix's columns.
std::vector<double> orthogonal_map(int64_t n, uint64_t seed) {
  std::vector<double> q = linear_map(n, 0, 1, seed);
  auto at = [&](int64_t r, int64_t c) -> double& { return q[static_cast<size_t>(r * n + c)]; };
  for (int64_t c = 0; c < n; ++c) {
    for (int64_t p = 0; p < c; ++p) {
      double dot = 0;
      for (int64_t r = 0; r < n; ++r) dot += at(r, c) * at(r, p);
      for (int64_t r = 0; r < n; ++r) at(r, c) -= dot * at(r, p);
    }
    double norm = 0;
    for (int64_t r = 0; r < n; ++r) norm += at(r, c) * at(r, c);
    for (int64_t r = 0; r < n; ++r) at(r, c) /= std::sqrt(norm);
  }
  return q;
}

// s · map (map: [s.cols, out_cols], row-major), in double, times `scale`.
Samples transformed(const Samples& s, const std::vector<double>& map, int64_t out_cols, double scale = 1) {
  Samples out{s.rows, out_cols, std::vector<float>(static_cast<size_t>(s.rows * out_cols))};
  for (int64_t r = 0; r < s.rows; ++r)
    for (int64_t c = 0; c < out_cols; ++c) {
      double sum = 0;
      for (int64_t k = 0; k < s.cols; ++k) sum += s.at(r, k) * map[static_cast<size_t>(k * out_cols + c)];
      out.at(r, c) = static_cast<float>(scale * sum);
    }
  return out;
}

// y = x · W + noise: related sides of different widths.
Samples correlated_with(const Samples& x, int64_t cols, uint64_t seed) {
  Samples y = transformed(x, linear_map(x.cols, cols, 0, 0.4, seed), cols);
  const Samples noise = gaussian(x.rows, cols, seed + 1);
  for (size_t i = 0; i < y.values.size(); ++i) y.values[i] += noise.values[i];
  return y;
}

TEST(SimilarityProperties, EachMeasureIsOneForARepresentationAgainstItself) {
  const Samples x = transformed(gaussian(2000, 16, 1), linear_map(16, 1, 0.5, 2), 16);
  // The ridge shrinks each correlation by λ / (λ + 1e-10) with scaled variances λ far above 1e-4 here.
  EXPECT_NEAR(svcca_similarity(x.view(), x.view(), 8), 1.0, 1e-6);
  EXPECT_NEAR(svcca_similarity(x.view(), x.view(), 16), 1.0, 1e-6);
  EXPECT_NEAR(pwcca_similarity(x.view(), x.view()), 1.0, 1e-6);
  EXPECT_NEAR(linear_cka_similarity(x.view(), x.view()), 1.0, 1e-12);
}

TEST(SimilarityProperties, CcaIgnoresAnInvertibleLinearMapOfEitherSide) {
  const Samples x = gaussian(3000, 10, 3), y = correlated_with(x, 10, 4);
  const Samples mapped_x = transformed(x, linear_map(10, 2, 1, 5), 10);
  const Samples mapped_y = transformed(y, linear_map(10, 2, 1, 6), 10);
  // SVCCA keeping every direction is plain CCA, invariant on both sides (up to the ridge, ~1e-9 here).
  const double full = svcca_similarity(x.view(), y.view(), 10);
  EXPECT_GT(full, 0.3);
  EXPECT_NEAR(svcca_similarity(mapped_x.view(), y.view(), 10), full, 1e-6);
  EXPECT_NEAR(svcca_similarity(x.view(), mapped_y.view(), 10), full, 1e-6);
  // PWCCA's correlations are CCA's; its weights are X's, so only a map of Y leaves the whole value.
  const CcaSimilarity reference = pwcca(x.view(), y.view());
  const CcaSimilarity with_mapped_x = pwcca(mapped_x.view(), y.view());
  ASSERT_EQ(with_mapped_x.correlations.size(), reference.correlations.size());
  for (size_t i = 0; i < reference.correlations.size(); ++i)
    EXPECT_NEAR(with_mapped_x.correlations[i], reference.correlations[i], 1e-6) << i;
  EXPECT_NEAR(pwcca_similarity(x.view(), mapped_y.view()), reference.similarity, 1e-6);
}

TEST(SimilarityProperties, TruncatedSvccaIgnoresARotationAndScalingOfEitherSide) {
  const Samples x = transformed(gaussian(3000, 10, 7), linear_map(10, 1, 0.6, 8), 10);
  const Samples y = correlated_with(x, 12, 9);
  const double reference = svcca_similarity(x.view(), y.view(), 4);
  const Samples rotated_y = transformed(y, orthogonal_map(12, 10), 12, 3.5);
  const Samples rotated_x = transformed(x, orthogonal_map(10, 11), 10, 0.25);
  EXPECT_NEAR(svcca_similarity(x.view(), rotated_y.view(), 4), reference, 1e-6);
  EXPECT_NEAR(svcca_similarity(rotated_x.view(), y.view(), 4), reference, 1e-6);
}

TEST(SimilarityProperties, LinearCkaIgnoresRotationAndIsotropicScalingButNotAnyLinearMap) {
  const Samples x = gaussian(2000, 10, 12), y = correlated_with(x, 14, 13);
  const double reference = linear_cka_similarity(x.view(), y.view());
  const Samples rotated = transformed(y, orthogonal_map(14, 14), 14, 7.0);
  EXPECT_NEAR(linear_cka_similarity(x.view(), rotated.view()), reference, 1e-6);
  EXPECT_NEAR(linear_cka_similarity(rotated.view(), x.view()), reference, 1e-6);
  // An anisotropic map is not among CKA's invariances: it must move the value.
  std::vector<double> stretch(14 * 14, 0.0);
  for (int64_t i = 0; i < 14; ++i) stretch[static_cast<size_t>(i * 14 + i)] = std::pow(3.0, i % 4);
  EXPECT_GT(std::abs(linear_cka_similarity(x.view(), transformed(y, stretch, 14).view()) - reference), 0.01);
}

// A head's logits Z = X Wᵀ before and after W changes, compared without forming them: equal to linear
// CKA of the explicit [rows, V] logits; CCA of those logits is blind to the change (both are
// invertible maps of X when V >= cols), CKA is not.
TEST(SimilarityProperties, LinearCkaThroughMapsEqualsLinearCkaOfTheMappedSamples) {
  const int64_t cols = 8, vocab = 40;
  const Samples x = gaussian(500, cols, 21);
  const std::vector<double> w1 = linear_map(cols, vocab, 0, 1, 22);  // Wᵀ [cols, V]
  std::vector<double> w2 = w1;
  const std::vector<double> noise = linear_map(cols, vocab, 0, 0.3, 23);
  for (size_t i = 0; i < w2.size(); ++i) w2[i] += noise[i];
  const Samples z1 = transformed(x, w1, vocab), z2 = transformed(x, w2, vocab);
  // The maps as row-major W [V, cols] in float, as a table is stored.
  auto rows_of = [&](const std::vector<double>& wt) {
    std::vector<float> w(static_cast<size_t>(vocab * cols));
    for (int64_t v = 0; v < vocab; ++v)
      for (int64_t c = 0; c < cols; ++c)
        w[static_cast<size_t>(v * cols + c)] = static_cast<float>(wt[static_cast<size_t>(c * vocab + v)]);
    return w;
  };
  const std::vector<float> table1 = rows_of(w1), table2 = rows_of(w2);
  const Eigen::MatrixXd covariance = side_covariance(x.view()).covariance;
  const double through = linear_cka_through_maps(covariance, weight_gram(table1.data(), vocab, cols),
                                                 weight_gram(table2.data(), vocab, cols));
  const double explicit_cka = linear_cka_similarity(z1.view(), z2.view());
  EXPECT_NEAR(through, explicit_cka, 1e-6);  // the explicit logits are rounded to float
  EXPECT_LT(through, 0.999);
  EXPECT_GT(through, 0.5);
  EXPECT_NEAR(svcca_similarity(z1.view(), z2.view(), static_cast<int>(cols)), 1.0, 1e-6);
  EXPECT_NEAR(linear_cka_through_maps(covariance, weight_gram(table1.data(), vocab, cols),
                                      weight_gram(table1.data(), vocab, cols)),
              1.0, 1e-12);
  EXPECT_THROW(linear_cka_through_maps(covariance, Eigen::MatrixXd::Zero(3, 3), Eigen::MatrixXd::Zero(3, 3)),
               ShapeError);
}

TEST(SimilarityProperties, FeatureOffsetsChangeNothing) {
  const Samples x = gaussian(1500, 8, 15), y = correlated_with(x, 6, 16);
  Samples shifted_x = x, shifted_y = y;
  for (int64_t r = 0; r < x.rows; ++r) {
    for (int64_t c = 0; c < x.cols; ++c) shifted_x.at(r, c) += static_cast<float>(c) - 3.0f;
    for (int64_t c = 0; c < y.cols; ++c) shifted_y.at(r, c) += 2.0f;
  }
  // The offsets are exact in float only up to the rounding of x + offset (~2.4e-7 at |x + offset| < 4).
  const SimilarityScores reference = similarity_scores(x.view(), y.view(), 4);
  const SimilarityScores shifted = similarity_scores(shifted_x.view(), shifted_y.view(), 4);
  EXPECT_NEAR(shifted.svcca, reference.svcca, 1e-5);
  EXPECT_NEAR(shifted.pwcca, reference.pwcca, 1e-5);
  EXPECT_NEAR(shifted.linear_cka, reference.linear_cka, 1e-5);
}

// X and Y independent Gaussian, n samples, m = n − 1 after centring, p and q columns (p <= q).
// CCA: Σ ρ_i² = tr(P_x P_y) for the projections on the centred column spaces; X's is a uniformly random
// p-dimensional subspace of the m-dimensional centred space, independent of Y's, so E Σ ρ_i² = p q / m
// and tr(P_x P_y) behaves like χ²(pq) / m (relative sd √(2 / pq)). Hence mean ρ ≤ √(mean ρ²) with
// mean ρ² ≤ (q / m)(1 + 5 √(2 / pq)) at five standard deviations; SVCCA is the same with p = q = topk.
// PWCCA is a weighted mean of the ρ_i, at most the largest, which tends to the Wachter edge
// √(p / m) + √(q / m) (for p, q ≪ m) with fluctuations of order m^(-2/3); 1.2× that bounds it.
// Linear CKA: |Yc^T Xc|_F² ≈ m p q (χ²(pq)-like) and |Xc^T Xc|_F ≥ m √p, so CKA ≈ √(pq) / m; 1.5× that
// is seven standard deviations.
TEST(SimilarityProperties, IndependentNoiseScoresNearZeroWithinTheDerivedBounds) {
  constexpr int64_t kSamples = 20000, kP = 20, kQ = 20;
  const Samples x = gaussian(kSamples, kP, 17), y = gaussian(kSamples, kQ, 18);
  const double m = kSamples - 1;
  const double mean_square_bound = (kQ / m) * (1 + 5 * std::sqrt(2.0 / (kP * kQ)));

  const CcaSimilarity pw = pwcca(x.view(), y.view());
  double mean_square = 0;
  for (double rho : pw.correlations) mean_square += rho * rho / static_cast<double>(pw.correlations.size());
  EXPECT_LT(mean_square, mean_square_bound);
  EXPECT_LT(pw.similarity, 1.2 * (std::sqrt(kP / m) + std::sqrt(kQ / m)));
  EXPECT_GT(pw.similarity, 0.0);

  constexpr int kTopk = 10;
  EXPECT_LT(svcca_similarity(x.view(), y.view(), kTopk),
            std::sqrt((kTopk / m) * (1 + 5 * std::sqrt(2.0 / (kTopk * kTopk)))));
  EXPECT_LT(linear_cka_similarity(x.view(), y.view()), 1.5 * std::sqrt(double{kP * kQ}) / m);
}

TEST(SimilarityProperties, AConstantFeatureIsDroppedAndChangesNothing) {
  const Samples x = gaussian(800, 6, 19), y = correlated_with(x, 5, 20);
  Samples with_constant{x.rows, x.cols + 1, {}};
  for (int64_t r = 0; r < x.rows; ++r) {
    for (int64_t c = 0; c < x.cols; ++c) with_constant.values.push_back(x.at(r, c));
    with_constant.values.push_back(0.5f);
  }
  const CcaSimilarity reference = pwcca(x.view(), y.view());
  const CcaSimilarity padded = pwcca(with_constant.view(), y.view());
  EXPECT_EQ(padded.kept_x, x.cols);
  EXPECT_NEAR(padded.similarity, reference.similarity, 1e-9);
  EXPECT_NEAR(svcca_similarity(with_constant.view(), y.view(), 5), svcca_similarity(x.view(), y.view(), 5), 1e-9);
  EXPECT_NEAR(linear_cka_similarity(with_constant.view(), y.view()), linear_cka_similarity(x.view(), y.view()),
              1e-12);
}

// A duplicated feature leaves a direction of X with no variance: it gets correlation ~0 and PWCCA
// weight 0 (its variate is rounding noise), never a NaN.
TEST(SimilarityProperties, ALinearDependenceGivesCorrelationZeroNotNaN) {
  Samples x = gaussian(600, 6, 21);
  for (int64_t r = 0; r < x.rows; ++r) x.at(r, 5) = x.at(r, 2);
  const Samples y = correlated_with(x, 8, 22);
  const CcaSimilarity pw = pwcca(x.view(), y.view());
  ASSERT_EQ(pw.correlations.size(), 6u);
  EXPECT_LT(pw.correlations.back(), 1e-4);
  EXPECT_GT(pw.correlations.front(), 0.3);
  EXPECT_LT(pw.weights.back(), 1e-6);
  EXPECT_TRUE(std::isfinite(pw.similarity));
  EXPECT_GT(pw.similarity, pw.correlations.back());
  EXPECT_LE(pw.similarity, pw.correlations.front());
  // Against itself CCA counts the null direction as uncorrelated (5 of 6 correlations are 1), while
  // SVCCA drops it with the principal directions of no variance, as the reference does.
  const CcaSimilarity itself = pwcca(x.view(), x.view());
  EXPECT_NEAR(itself.correlations[4], 1.0, 1e-6);
  EXPECT_LT(itself.correlations[5], 1e-4);
  const CcaSimilarity reduced = svcca(x.view(), x.view(), 6);
  EXPECT_EQ(reduced.kept_x, 5);
  EXPECT_NEAR(reduced.similarity, 1.0, 1e-6);
}

TEST(SimilarityProperties, ASideWithNoVarianceScoresZero) {
  const Samples y = gaussian(100, 4, 23);
  const Samples constant{100, 3, std::vector<float>(300, 1.25f)};
  const CcaSimilarity pw = pwcca(constant.view(), y.view());
  EXPECT_EQ(pw.similarity, 0.0);
  EXPECT_EQ(pw.kept_x, 0);
  EXPECT_TRUE(pw.correlations.empty());
  EXPECT_EQ(svcca_similarity(y.view(), constant.view(), 2), 0.0);
  EXPECT_EQ(linear_cka_similarity(constant.view(), y.view()), 0.0);
}

TEST(SimilarityProperties, OneCallGivesWhatTheThreeCallsGive) {
  const Samples x = gaussian(1000, 9, 24), y = correlated_with(x, 7, 25);
  const SimilarityScores scores = similarity_scores(x.view(), y.view(), 5);
  EXPECT_NEAR(scores.svcca, svcca_similarity(x.view(), y.view(), 5), 1e-12);
  EXPECT_NEAR(scores.pwcca, pwcca_similarity(x.view(), y.view()), 1e-12);
  EXPECT_NEAR(scores.linear_cka, linear_cka_similarity(x.view(), y.view()), 1e-12);
  EXPECT_GT(scores.svcca, 0.2);
}

template <typename Call>
void expect_shape_error(Call call, const std::string& message_part) {
  try {
    call();
    ADD_FAILURE() << "expected a ShapeError saying: " << message_part;
  } catch (const ShapeError& e) {
    EXPECT_THAT(e.what(), HasSubstr(message_part));
  }
}

TEST(SimilarityErrors, NameWhatIsWrongAndWhatIsNeeded) {
  const Samples x = gaussian(50, 6, 26), y = gaussian(50, 4, 27), fewer = gaussian(40, 4, 28);
  const Samples wide = gaussian(20, 30, 29), narrow = gaussian(20, 8, 30);
  expect_shape_error([&] { pwcca(x.view(), fewer.view()); }, "same samples (rows), found 50 and 40");
  expect_shape_error([&] { linear_cka_similarity(x.view(), fewer.view()); }, "same samples");
  expect_shape_error([&] { pwcca(wide.view(), narrow.view()); },
                     "activation matrix x has 20 samples (rows) for 30 dimensions");
  expect_shape_error([&] { pwcca(narrow.view(), wide.view()); }, "activation matrix y has 20 samples");
  expect_shape_error([&] { similarity_scores(wide.view(), narrow.view(), 4); }, "at least as many samples");
  expect_shape_error([&] { svcca(x.view(), y.view(), 0); }, "topk must lie in [1, 4]");
  expect_shape_error([&] { svcca(x.view(), y.view(), 5); }, "topk must lie in [1, 4] (the narrower side's dimensions), found 5");
  expect_shape_error([&] { svcca(wide.view(), wide.view(), 25); }, "top 25 directions needs at least 25 samples");
  expect_shape_error([&] { svcca_similarity({nullptr, 50, 6}, y.view(), 2); }, "activation matrix x");
  expect_shape_error([&] { linear_cka_similarity({x.values.data(), 1, 6}, {y.values.data(), 1, 4}); },
                     "at least 2 samples");
  // SVCCA's truncation is what lets fewer samples than dimensions through.
  EXPECT_GT(svcca_similarity(wide.view(), wide.view(), 8), 0.99);
  EXPECT_GE(linear_cka_similarity(wide.view(), narrow.view()), 0.0);
}

TEST(SimilarityErrors, ANonFiniteActivationIsADataError) {
  Samples x = gaussian(30, 5, 31);
  const Samples y = gaussian(30, 3, 32);
  x.at(17, 3) = std::numeric_limits<float>::quiet_NaN();
  try {
    linear_cka_similarity(x.view(), y.view());
    ADD_FAILURE() << "expected a DataError";
  } catch (const DataError& e) {
    EXPECT_THAT(e.what(), HasSubstr("activation matrix x: column 3"));
  }
}

// Sensitivity compares one fp32 side with every width's output: prepared once, it must give exactly
// the pairwise numbers (the sums run in the same order), with a constant feature and a second
// comparison after the first reusing the cached whitening.
TEST(SimilarityReference, EqualsThePairwiseMeasuresBitForBit) {
  Samples x = gaussian(700, 24, 1);
  for (int64_t r = 0; r < x.rows; ++r) x.at(r, 5) = 2.5f;  // a constant feature CCA drops
  const SimilarityReference reference(x.view());
  for (uint64_t seed : {2, 3}) {
    Samples y = gaussian(700, 24, seed);
    for (int64_t r = 0; r < y.rows; ++r)
      for (int64_t c = 0; c < y.cols; ++c) y.at(r, c) += 0.8f * x.at(r, c);
    EXPECT_EQ(reference.pwcca(y.view()), pwcca_similarity(x.view(), y.view())) << seed;
    EXPECT_EQ(reference.svcca(y.view(), 10), svcca_similarity(x.view(), y.view(), 10)) << seed;
    EXPECT_EQ(reference.linear_cka(y.view()), linear_cka_similarity(x.view(), y.view())) << seed;
    EXPECT_GT(reference.pwcca(y.view()), 0.3) << seed;
  }
  const Samples too_few = gaussian(10, 24, 4);
  EXPECT_THROW(SimilarityReference(too_few.view()).pwcca(too_few.view()), ShapeError);
}

}  // namespace
}  // namespace squish
