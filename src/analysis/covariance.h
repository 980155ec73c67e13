// Sample covariances of two activation matrices over the same samples, in double precision: the
// statistics every similarity measure here is computed from, so the samples are read once however many
// measures follow, and the cost is O(rows · cols²) once instead of decompositions of [rows, cols].
#pragma once

#include <Eigen/Dense>
#include <string_view>

#include "analysis/activation_matrix.h"

namespace squish {

// Centred cross-products divided by (samples − 1), as numpy's np.cov: xx [x.cols, x.cols],
// xy [x.cols, y.cols], yy [y.cols, y.cols].
struct JointCovariance {
  int64_t samples = 0;
  Eigen::MatrixXd xx, xy, yy;
};

// ShapeError for a null or empty matrix, fewer than 2 rows or rows that differ between the sides.
void check_activation_pair(ActivationMatrix x, ActivationMatrix y);

// check_activation_pair's errors; DataError for a NaN or infinite activation.
JointCovariance joint_covariance(ActivationMatrix x, ActivationMatrix y);

// One side's column means and covariance, for a side compared with many others: joint_covariance
// from it reads x again only for the cross term, and equals the pairwise one bit for bit.
struct SideCovariance {
  Eigen::RowVectorXd mean;
  Eigen::MatrixXd covariance;
};
SideCovariance side_covariance(ActivationMatrix x);
JointCovariance joint_covariance(const SideCovariance& x_side, ActivationMatrix x, ActivationMatrix y);

}  // namespace squish
