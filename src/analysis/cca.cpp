#include "analysis/cca.h"

#include <algorithm>
#include <cmath>

#include "analysis/dense_double.h"

namespace squish {
namespace {

std::vector<Eigen::Index> features_with_variance(const Eigen::MatrixXd& scaled_covariance) {
  std::vector<Eigen::Index> kept;
  for (Eigen::Index i = 0; i < scaled_covariance.rows(); ++i)
    if (scaled_covariance(i, i) >= kCcaEpsilon) kept.push_back(i);
  return kept;
}

Eigen::MatrixXd regularised(const Eigen::MatrixXd& scaled_covariance, const std::vector<Eigen::Index>& kept) {
  Eigen::MatrixXd kept_covariance = scaled_covariance(kept, kept);
  kept_covariance.diagonal().array() += kCcaEpsilon;
  return kept_covariance;
}

}  // namespace

// The ridge keeps every eigenvalue at least kCcaEpsilon, far above the rounding of the covariance,
// so the inverse square root and Y's Cholesky factor exist.
CcaSide prepare_cca_side(const Eigen::MatrixXd& covariance) {
  CcaSide side;
  side.scale = covariance.cwiseAbs().maxCoeff();
  if (side.scale == 0) return side;
  const Eigen::MatrixXd scaled = covariance / side.scale;
  side.kept = features_with_variance(scaled);
  const Eigen::MatrixXd kept_covariance = regularised(scaled, side.kept);
  side.inv_sqrt.resize(kept_covariance.rows(), kept_covariance.cols());
  symmetric_inverse_sqrt(kept_covariance.data(), kept_covariance.rows(), side.inv_sqrt.data());
  return side;
}

CcaSolution solve_cca(const CcaSide& x, const Eigen::MatrixXd& xy, const Eigen::MatrixXd& yy) {
  CcaSolution solution;
  const double y_scale = yy.cwiseAbs().maxCoeff();
  if (x.scale == 0 || y_scale == 0) return solution;
  solution.kept_x = x.kept;
  const Eigen::MatrixXd scaled_yy = yy / y_scale;
  solution.kept_y = features_with_variance(scaled_yy);
  const Eigen::MatrixXd kept_yy = regularised(scaled_yy, solution.kept_y);
  const Eigen::MatrixXd kept_xy = xy(x.kept, solution.kept_y) / std::sqrt(x.scale * y_scale);
  const Eigen::Index p = kept_xy.rows(), q = kept_xy.cols(), k = std::min(p, q);
  solution.correlations.resize(k);
  solution.x_directions.resize(p, k);
  whitened_cross_svd(x.inv_sqrt.data(), kept_xy.data(), kept_yy.data(), p, q, solution.correlations.data(),
                     solution.x_directions.data());
  solution.x_directions /= std::sqrt(x.scale);
  return solution;
}

CcaSolution solve_cca(const Eigen::MatrixXd& xx, const Eigen::MatrixXd& xy, const Eigen::MatrixXd& yy) {
  return solve_cca(prepare_cca_side(xx), xy, yy);
}

}  // namespace squish
