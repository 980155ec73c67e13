#include "analysis/covariance.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "analysis/dense_double.h"
#include "core/error.h"

namespace squish {
namespace {

using RowMajorFloats = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Rows per centred block: the blocks' products are large enough for Eigen's blocked GEMM while the
// double copies stay small (512 × 768 × 8 bytes = 3 MiB a side) whatever the number of samples.
constexpr int64_t kBlockRows = 512;

Eigen::Map<const RowMajorFloats> rows_of(ActivationMatrix m, int64_t start, int64_t count) {
  return {m.data + start * m.cols, count, m.cols};
}

void check_matrix(ActivationMatrix m, std::string_view side) {
  if (m.data == nullptr || m.rows <= 0 || m.cols <= 0)
    throw ShapeError(fmt::format("activation matrix {}: expected data and a positive shape, found {} [{}, {}]",
                                 side, m.data == nullptr ? "no data" : "data", m.rows, m.cols));
  if (m.rows < 2)
    throw ShapeError(fmt::format("activation matrix {}: a covariance needs at least 2 samples (rows), found {}",
                                 side, m.rows));
}

// Summing in double keeps every float exactly and cannot overflow, so a non-finite mean means a
// non-finite activation in that column.
Eigen::RowVectorXd column_means(ActivationMatrix m, std::string_view side) {
  Eigen::RowVectorXd sum = Eigen::RowVectorXd::Zero(m.cols);
  for (int64_t start = 0; start < m.rows; start += kBlockRows) {
    const int64_t count = std::min(kBlockRows, m.rows - start);
    sum += rows_of(m, start, count).cast<double>().colwise().sum();
  }
  for (int64_t c = 0; c < m.cols; ++c)
    if (!std::isfinite(sum[c]))
      throw DataError(fmt::format("activation matrix {}: column {} holds a NaN or infinite value", side, c));
  return sum / static_cast<double>(m.rows);
}

}  // namespace

void check_activation_pair(ActivationMatrix x, ActivationMatrix y) {
  check_matrix(x, "x");
  check_matrix(y, "y");
  if (x.rows != y.rows)
    throw ShapeError(fmt::format("activation matrices: x and y must hold the same samples (rows), found {} and {}",
                                 x.rows, y.rows));
}

SideCovariance side_covariance(ActivationMatrix x) {
  check_activation_pair(x, x);
  SideCovariance side;
  side.mean = column_means(x, "x");
  side.covariance = Eigen::MatrixXd::Zero(x.cols, x.cols);
  Eigen::MatrixXd centred_x;
  for (int64_t start = 0; start < x.rows; start += kBlockRows) {
    const int64_t count = std::min(kBlockRows, x.rows - start);
    centred_x = rows_of(x, start, count).cast<double>().rowwise() - side.mean;
    add_gram_lower(side.covariance.data(), centred_x.data(), count, x.cols);
  }
  side.covariance = side.covariance.selfadjointView<Eigen::Lower>();
  side.covariance /= static_cast<double>(x.rows - 1);
  return side;
}

// The cross and y terms in the same row blocks as side_covariance(), so that a pair computed at once
// and one whose x side was computed before give the same bits.
JointCovariance joint_covariance(const SideCovariance& x_side, ActivationMatrix x, ActivationMatrix y) {
  check_activation_pair(x, y);
  const Eigen::RowVectorXd mean_y = column_means(y, "y");
  JointCovariance c;
  c.samples = x.rows;
  c.xx = x_side.covariance;
  c.xy = Eigen::MatrixXd::Zero(x.cols, y.cols);
  c.yy = Eigen::MatrixXd::Zero(y.cols, y.cols);
  Eigen::MatrixXd centred_x, centred_y;
  for (int64_t start = 0; start < x.rows; start += kBlockRows) {
    const int64_t count = std::min(kBlockRows, x.rows - start);
    centred_x = rows_of(x, start, count).cast<double>().rowwise() - x_side.mean;
    centred_y = rows_of(y, start, count).cast<double>().rowwise() - mean_y;
    add_cross_products(c.xy.data(), centred_x.data(), centred_y.data(), count, x.cols, y.cols);
    add_gram_lower(c.yy.data(), centred_y.data(), count, y.cols);  // half the products
  }
  c.yy = c.yy.selfadjointView<Eigen::Lower>();
  const double degrees_of_freedom = static_cast<double>(x.rows - 1);
  c.xy /= degrees_of_freedom;
  c.yy /= degrees_of_freedom;
  return c;
}

JointCovariance joint_covariance(ActivationMatrix x, ActivationMatrix y) {
  check_activation_pair(x, y);
  return joint_covariance(side_covariance(x), x, y);
}

}  // namespace squish
