// The double-precision routines (analysis/dense_double.h): each build (SSE2, and AVX2 + FMA where the
// CPU has it) and the dispatching entry points against Eigen computed here, on shapes that are not
// multiples of any block.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <functional>
#include <random>

#include "analysis/dense_double.h"

namespace squish {
namespace {

Eigen::MatrixXd random_matrix(int64_t rows, int64_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Eigen::MatrixXd m(rows, cols);
  for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = normal(rng);
  return m;
}

// A well-conditioned symmetric positive definite matrix (eigenvalues in about [0.3, 4]).
Eigen::MatrixXd spd_matrix(int64_t n, uint64_t seed) {
  const Eigen::MatrixXd a = random_matrix(4 * n, n, seed);
  return a.transpose() * a / static_cast<double>(4 * n) + 0.1 * Eigen::MatrixXd::Identity(n, n);
}

void expect_close(const Eigen::MatrixXd& got, const Eigen::MatrixXd& want, double tolerance, const std::string& what) {
  ASSERT_EQ(got.rows(), want.rows()) << what;
  ASSERT_EQ(got.cols(), want.cols()) << what;
  for (int64_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got.data()[i], want.data()[i], tolerance) << what << " at " << i;
}

// Eigenvectors and singular vectors are defined up to sign: each column is compared with the sign that
// makes its largest entry positive.
Eigen::MatrixXd signs_fixed(Eigen::MatrixXd m) {
  for (Eigen::Index j = 0; j < m.cols(); ++j) {
    Eigen::Index largest = 0;
    m.col(j).cwiseAbs().maxCoeff(&largest);
    if (m(largest, j) < 0) m.col(j) *= -1.0;
  }
  return m;
}

struct Build {
  std::string name;
  DenseDoubleRoutines routines;
};

std::vector<Build> builds() {
  std::vector<Build> b = {{"dispatched",
                           {add_cross_products, add_gram_lower, symmetric_eigen, symmetric_inverse_sqrt,
                            whitened_cross_svd, orthonormalise_in_metric}},
                          {"SSE2", isa_base::dense_double_routines()}};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    b.push_back({"AVX2", isa_avx2::dense_double_routines()});
  return b;
}

TEST(DenseDouble, ProductsMatchEigen) {
  const int64_t n = 523, p = 37, q = 29;
  const Eigen::MatrixXd a = random_matrix(n, p, 1), b = random_matrix(n, q, 2);
  const Eigen::MatrixXd start_pq = random_matrix(p, q, 3), start_pp = random_matrix(p, p, 4);
  const Eigen::MatrixXd cross = start_pq + a.transpose() * b;
  const Eigen::MatrixXd gram = start_pp + a.transpose() * a;
  for (const Build& build : builds()) {
    // Sums of 523 products of unit normals: rounding differences stay near 1e-13.
    Eigen::MatrixXd c = start_pq;
    build.routines.add_cross_products(c.data(), a.data(), b.data(), n, p, q);
    expect_close(c, cross, 1e-11, build.name + " cross products");
    Eigen::MatrixXd g = start_pp;
    build.routines.add_gram_lower(g.data(), a.data(), n, p);
    expect_close(g.triangularView<Eigen::Lower>().toDenseMatrix(), gram.triangularView<Eigen::Lower>().toDenseMatrix(),
                 1e-11, build.name + " Gram");
    EXPECT_EQ(g(0, p - 1), start_pp(0, p - 1)) << build.name << ": the upper triangle is left alone";
  }
}

TEST(DenseDouble, DecompositionsMatchTheirDefinitions) {
  const int64_t n = 41, q = 23;
  const Eigen::MatrixXd s = spd_matrix(n, 6), yy = spd_matrix(q, 7), xy = random_matrix(n, q, 8);
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> reference(s);
  // W = S^-1/2 C Syy^-1/2 by its own eigendecomposition: the singular values and left vectors the
  // Cholesky route must give.
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> reference_y(yy);
  const Eigen::MatrixXd s_inv_sqrt = reference.operatorInverseSqrt();
  const Eigen::MatrixXd w = s_inv_sqrt * xy * reference_y.operatorInverseSqrt();
  const Eigen::JacobiSVD<Eigen::MatrixXd> svd(w, Eigen::ComputeThinU);
  for (const Build& build : builds()) {
    Eigen::VectorXd values(n);
    Eigen::MatrixXd vectors(n, n);
    build.routines.symmetric_eigen(s.data(), n, values.data(), vectors.data());
    expect_close(values, reference.eigenvalues(), 1e-12, build.name + " eigenvalues");
    expect_close(signs_fixed(vectors), signs_fixed(reference.eigenvectors()), 1e-10, build.name + " eigenvectors");

    Eigen::MatrixXd inv_sqrt(n, n);
    build.routines.symmetric_inverse_sqrt(s.data(), n, inv_sqrt.data());
    expect_close(inv_sqrt * s * inv_sqrt, Eigen::MatrixXd::Identity(n, n), 1e-12, build.name + " S^-1/2 S S^-1/2");
    expect_close(inv_sqrt, inv_sqrt.transpose(), 1e-13, build.name + " S^-1/2 symmetric");

    Eigen::VectorXd singular(q);
    Eigen::MatrixXd directions(n, q);
    build.routines.whitened_cross_svd(s_inv_sqrt.data(), xy.data(), yy.data(), n, q, singular.data(),
                                      directions.data());
    expect_close(singular, svd.singularValues(), 1e-11, build.name + " singular values");
    expect_close(signs_fixed(directions), signs_fixed(s_inv_sqrt * svd.matrixU()), 1e-9, build.name + " directions");
    const Eigen::MatrixXd indefinite = yy - 10.0 * Eigen::MatrixXd::Identity(q, q);
    build.routines.whitened_cross_svd(s_inv_sqrt.data(), xy.data(), indefinite.data(), n, q, singular.data(),
                                      directions.data());
    EXPECT_TRUE(std::isnan(singular[0]) && std::isnan(directions(0, 0))) << build.name << ": no Cholesky factor";
  }
}

TEST(DenseDouble, OrthonormalisesInTheMetricAndZeroesVanishingColumns) {
  const int64_t n = 29, k = 7;
  const Eigen::MatrixXd metric = spd_matrix(n, 9);
  Eigen::MatrixXd start = random_matrix(n, k, 10);
  start.col(4) = 2.0 * start.col(1) - start.col(3);  // in the span of earlier columns: nothing left of it
  for (const Build& build : builds()) {
    Eigen::MatrixXd d = start, projections(n, k);
    build.routines.orthonormalise_in_metric(metric.data(), d.data(), projections.data(), n, k, 1e-6);
    expect_close(projections, metric * d, 1e-11, build.name + " projections kept in step");
    Eigen::MatrixXd want = Eigen::MatrixXd::Identity(k, k);
    want(4, 4) = 0;
    expect_close(d.transpose() * metric * d, want, 1e-11, build.name + " orthonormal in the metric");
    EXPECT_EQ(d.col(4).norm(), 0.0) << build.name;
    // Modified Gram-Schmidt in order: each column stays in the span of the columns up to it.
    const Eigen::MatrixXd coefficients = start.leftCols(3).colPivHouseholderQr().solve(d.col(2));
    expect_close(start.leftCols(3) * coefficients, d.col(2), 1e-11, build.name + " column 2 within the first 3");
  }
}

}  // namespace
}  // namespace squish
