#include "analysis/cca.h"

#include <algorithm>
#include <cmath>

namespace squish {
namespace {

std::vector<Eigen::Index> features_with_variance(const Eigen::MatrixXd& scaled_covariance) {
  std::vector<Eigen::Index> kept;
  for (Eigen::Index i = 0; i < scaled_covariance.rows(); ++i)
    if (scaled_covariance(i, i) >= kCcaEpsilon) kept.push_back(i);
  return kept;
}

// The ridge keeps every eigenvalue at least kCcaEpsilon, far above the rounding of the covariance.
Eigen::MatrixXd inverse_sqrt(const Eigen::MatrixXd& symmetric_positive_definite) {
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(symmetric_positive_definite);
  return eigen.eigenvectors() * eigen.eigenvalues().cwiseSqrt().cwiseInverse().asDiagonal() *
         eigen.eigenvectors().transpose();
}

Eigen::MatrixXd regularised(const Eigen::MatrixXd& scaled_covariance, const std::vector<Eigen::Index>& kept) {
  Eigen::MatrixXd kept_covariance = scaled_covariance(kept, kept);
  kept_covariance.diagonal().array() += kCcaEpsilon;
  return kept_covariance;
}

}  // namespace

CcaSolution solve_cca(const Eigen::MatrixXd& xx, const Eigen::MatrixXd& xy, const Eigen::MatrixXd& yy) {
  CcaSolution solution;
  const double x_scale = xx.cwiseAbs().maxCoeff(), y_scale = yy.cwiseAbs().maxCoeff();
  if (x_scale == 0 || y_scale == 0) return solution;
  const Eigen::MatrixXd scaled_xx = xx / x_scale, scaled_yy = yy / y_scale;
  solution.kept_x = features_with_variance(scaled_xx);
  solution.kept_y = features_with_variance(scaled_yy);
  const Eigen::MatrixXd inv_sqrt_xx = inverse_sqrt(regularised(scaled_xx, solution.kept_x));
  const Eigen::MatrixXd inv_sqrt_yy = inverse_sqrt(regularised(scaled_yy, solution.kept_y));
  const Eigen::MatrixXd whitened_xy =
      inv_sqrt_xx * (xy(solution.kept_x, solution.kept_y) / std::sqrt(x_scale * y_scale)) * inv_sqrt_yy;
  const Eigen::BDCSVD<Eigen::MatrixXd> svd(whitened_xy, Eigen::ComputeThinU);
  const Eigen::Index k = std::min(whitened_xy.rows(), whitened_xy.cols());
  solution.correlations = svd.singularValues().head(k);
  solution.x_directions = inv_sqrt_xx * svd.matrixU().leftCols(k) / std::sqrt(x_scale);
  return solution;
}

}  // namespace squish
