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

CcaSide prepare_cca_side(const Eigen::MatrixXd& covariance) {
  CcaSide side;
  side.scale = covariance.cwiseAbs().maxCoeff();
  if (side.scale == 0) return side;
  const Eigen::MatrixXd scaled = covariance / side.scale;
  side.kept = features_with_variance(scaled);
  side.inv_sqrt = inverse_sqrt(regularised(scaled, side.kept));
  return side;
}

CcaSolution solve_cca(const CcaSide& x, const Eigen::MatrixXd& xy, const CcaSide& y) {
  CcaSolution solution;
  if (x.scale == 0 || y.scale == 0) return solution;
  solution.kept_x = x.kept;
  solution.kept_y = y.kept;
  const Eigen::MatrixXd whitened_xy = x.inv_sqrt * (xy(x.kept, y.kept) / std::sqrt(x.scale * y.scale)) * y.inv_sqrt;
  const Eigen::BDCSVD<Eigen::MatrixXd> svd(whitened_xy, Eigen::ComputeThinU);
  const Eigen::Index k = std::min(whitened_xy.rows(), whitened_xy.cols());
  solution.correlations = svd.singularValues().head(k);
  solution.x_directions = x.inv_sqrt * svd.matrixU().leftCols(k) / std::sqrt(x.scale);
  return solution;
}

CcaSolution solve_cca(const Eigen::MatrixXd& xx, const Eigen::MatrixXd& xy, const Eigen::MatrixXd& yy) {
  return solve_cca(prepare_cca_side(xx), xy, prepare_cca_side(yy));
}

}  // namespace squish
