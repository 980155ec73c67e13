// dense_double.h's routines, compiled once per instruction set: the including file names the namespace
// (SQUISH_DENSE_DOUBLE_ISA) and, for a wider ISA than the project's, renames Eigen's before this.
#pragma once

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>

#include "analysis/dense_double.h"

namespace squish::SQUISH_DENSE_DOUBLE_ISA {
namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;
using Vector = Eigen::Matrix<double, Eigen::Dynamic, 1>;
using MatrixMap = Eigen::Map<Matrix>;
using ConstMatrixMap = Eigen::Map<const Matrix>;

void add_cross_products(double* c, const double* a, const double* b, int64_t n, int64_t p, int64_t q) {
  MatrixMap(c, p, q).noalias() += ConstMatrixMap(a, n, p).transpose() * ConstMatrixMap(b, n, q);
}

void add_gram_lower(double* c, const double* a, int64_t n, int64_t p) {
  MatrixMap(c, p, p).selfadjointView<Eigen::Lower>().rankUpdate(ConstMatrixMap(a, n, p).transpose());
}

void symmetric_eigen(const double* a, int64_t n, double* values, double* vectors) {
  const Eigen::SelfAdjointEigenSolver<Matrix> eigen(ConstMatrixMap(a, n, n));
  Eigen::Map<Vector>(values, n) = eigen.eigenvalues();
  MatrixMap(vectors, n, n) = eigen.eigenvectors();
}

void symmetric_inverse_sqrt(const double* a, int64_t n, double* out) {
  const Eigen::SelfAdjointEigenSolver<Matrix> eigen(ConstMatrixMap(a, n, n));
  const Matrix scaled_vectors = eigen.eigenvectors() * eigen.eigenvalues().cwiseSqrt().cwiseInverse().asDiagonal();
  MatrixMap(out, n, n).noalias() = scaled_vectors * eigen.eigenvectors().transpose();
}

void whitened_cross_svd(const double* a, const double* c, const double* s, int64_t p, int64_t q,
                        double* singular_values, double* directions) {
  const Eigen::LLT<Matrix> cholesky(ConstMatrixMap(s, q, q));
  const int64_t k = std::min(p, q);
  if (cholesky.info() != Eigen::Success) {  // s not positive definite: no whitening exists
    Eigen::Map<Vector>(singular_values, k).setConstant(std::numeric_limits<double>::quiet_NaN());
    MatrixMap(directions, p, k).setConstant(std::numeric_limits<double>::quiet_NaN());
    return;
  }
  // W = (a c) L^-T, solved as Wᵀ = L^-1 (a c)ᵀ.
  Matrix w_transposed = (ConstMatrixMap(a, p, p) * ConstMatrixMap(c, p, q)).transpose();
  cholesky.matrixL().solveInPlace(w_transposed);
  const Eigen::BDCSVD<Matrix> svd(w_transposed.transpose(), Eigen::ComputeThinU);
  Eigen::Map<Vector>(singular_values, k) = svd.singularValues().head(k);
  MatrixMap(directions, p, k).noalias() = ConstMatrixMap(a, p, p) * svd.matrixU().leftCols(k);
}

void orthonormalise_in_metric(const double* metric, double* directions, double* projections, int64_t n, int64_t k,
                              double vanishing) {
  MatrixMap d(directions, n, k), m(projections, n, k);
  m.noalias() = ConstMatrixMap(metric, n, n) * d;
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = 0; j < i; ++j) {
      const double overlap = m.col(j).dot(d.col(i));
      d.col(i) -= overlap * d.col(j);
      m.col(i) -= overlap * m.col(j);
    }
    const double norm2 = d.col(i).dot(m.col(i));
    const double scale = norm2 < vanishing ? 0.0 : 1.0 / std::sqrt(norm2);
    d.col(i) *= scale;
    m.col(i) *= scale;
  }
}

}  // namespace

const DenseDoubleRoutines& dense_double_routines() {
  static const DenseDoubleRoutines routines{add_cross_products,     add_gram_lower,     symmetric_eigen,
                                            symmetric_inverse_sqrt, whitened_cross_svd, orthonormalise_in_metric};
  return routines;
}

}  // namespace squish::SQUISH_DENSE_DOUBLE_ISA
