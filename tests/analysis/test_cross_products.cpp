// The covariances' products (analysis/cross_products.h): the AVX2 build and the dispatching entry
// points against Eigen's products computed here, on shapes that are not multiples of any block.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <random>

#include "analysis/cross_products.h"

namespace squish {
namespace {

Eigen::MatrixXd random_matrix(int64_t rows, int64_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Eigen::MatrixXd m(rows, cols);
  for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = normal(rng);
  return m;
}

void expect_close(const Eigen::MatrixXd& got, const Eigen::MatrixXd& want, const char* what) {
  ASSERT_EQ(got.rows(), want.rows());
  ASSERT_EQ(got.cols(), want.cols());
  // Sums of 523 products of unit normals: rounding differences stay near 1e-13.
  for (int64_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got.data()[i], want.data()[i], 1e-11) << what << " at " << i;
}

TEST(CrossProducts, MatchEigenOnEveryPath) {
  const int64_t n = 523, p = 37, q = 29;
  const Eigen::MatrixXd a = random_matrix(n, p, 1), b = random_matrix(n, q, 2);
  const Eigen::MatrixXd start_pq = random_matrix(p, q, 3), start_pp = random_matrix(p, p, 4);
  const Eigen::MatrixXd cross = start_pq + a.transpose() * b;
  const Eigen::MatrixXd gram = start_pp + a.transpose() * a;

  Eigen::MatrixXd c = start_pq;
  add_cross_products(c.data(), a.data(), b.data(), n, p, q);
  expect_close(c, cross, "dispatched cross products");
  Eigen::MatrixXd g = start_pp;
  add_gram_lower(g.data(), a.data(), n, p);
  expect_close(g.triangularView<Eigen::Lower>().toDenseMatrix(), gram.triangularView<Eigen::Lower>().toDenseMatrix(),
               "dispatched Gram");
  EXPECT_EQ(g(0, p - 1), start_pp(0, p - 1));  // the upper triangle is left alone

  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return;  // the dispatch covered SSE2
  c = start_pq;
  isa_avx2::add_cross_products(c.data(), a.data(), b.data(), n, p, q);
  expect_close(c, cross, "AVX2 cross products");
  g = start_pp;
  isa_avx2::add_gram_lower(g.data(), a.data(), n, p);
  expect_close(g.triangularView<Eigen::Lower>().toDenseMatrix(), gram.triangularView<Eigen::Lower>().toDenseMatrix(),
               "AVX2 Gram");
}

}  // namespace
}  // namespace squish
