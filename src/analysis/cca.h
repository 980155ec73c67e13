// Canonical correlation analysis from covariances, regularised as google/svcca's cca_core does, so
// that its numbers are the published ones: each side's covariance is divided by its largest |entry|
// (the largest variance), features whose scaled variance is below kCcaEpsilon are dropped (constant
// ones: their correlation is undefined), kCcaEpsilon is added to the scaled diagonals, and the
// singular values of Sxx^-1/2 Sxy Syy^-1/2 are the canonical correlations (computed as those of
// Sxx^-1/2 Sxy L^-T, L Syy's Cholesky factor: the same values, analysis/dense_double.h).
#pragma once

#include <Eigen/Dense>
#include <vector>

namespace squish {

// The epsilon google/svcca's tutorial passes: relative to the largest variance of a side, both the
// variance below which a feature is dropped and the ridge added to the diagonal. A direction of
// scaled variance λ is shrunk by λ / (λ + ε), so every direction above ~1e-6 of the largest keeps its
// correlation to 1e-4, and one of zero variance (a linear dependence between features) gets
// correlation ~0 instead of a division by zero.
inline constexpr double kCcaEpsilon = 1e-10;

struct CcaSolution {
  Eigen::VectorXd correlations;  // descending, min(kept_x, kept_y) of them, in [0, 1] up to rounding
  std::vector<Eigen::Index> kept_x, kept_y;  // features left after the variance cut, ascending
  // [kept_x.size(), correlations.size()]: X's i-th canonical variate is the centred kept features of X
  // times column i, scaled so that its variance is 1 up to the ridge.
  Eigen::MatrixXd x_directions;
};

// X's side prepared from its covariance: its scale (largest |entry|), the features kept and the
// regularised Sxx^-1/2, so that a side compared with many others is whitened once.
struct CcaSide {
  double scale = 0;  // 0: no variance at all
  std::vector<Eigen::Index> kept;
  Eigen::MatrixXd inv_sqrt;
};
CcaSide prepare_cca_side(const Eigen::MatrixXd& covariance);

// xx [dx, dx], xy [dx, dy], yy [dy, dy]: sample covariances. A side with no variance at all gives
// no correlations and nothing kept.
CcaSolution solve_cca(const Eigen::MatrixXd& xx, const Eigen::MatrixXd& xy, const Eigen::MatrixXd& yy);
// The same from X's prepared side: equal to the above bit for bit.
CcaSolution solve_cca(const CcaSide& x, const Eigen::MatrixXd& xy, const Eigen::MatrixXd& yy);

}  // namespace squish
