#include "analysis/similarity.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string_view>

#include "analysis/cca.h"
#include "analysis/covariance.h"
#include "analysis/dense_double.h"
#include "core/error.h"

namespace squish {
namespace {

// PWCCA's variates have unit variance up to the ridge (analysis/cca.h); one left with less than this
// after orthogonalisation is rounding noise of a zero-variance direction, and gets weight 0.
constexpr double kVanishingVariance = 1e-6;

// With fewer samples than dimensions every canonical correlation is 1 whatever the data.
void require_cca_samples(ActivationMatrix x, ActivationMatrix y, std::string_view measure) {
  for (const auto& [side, m] : {std::pair{"x", x}, std::pair{"y", y}})
    if (m.rows < m.cols)
      throw ShapeError(fmt::format(
          "{}: activation matrix {} has {} samples (rows) for {} dimensions (cols); CCA needs at least as many "
          "samples as dimensions on each side (SVCCA compares wider representations with topk <= samples)",
          measure, side, m.rows, m.cols));
}

void require_topk(ActivationMatrix x, ActivationMatrix y, int topk) {
  const int64_t narrowest = std::min(x.cols, y.cols);
  if (topk < 1 || topk > narrowest)
    throw ShapeError(fmt::format("svcca: topk must lie in [1, {}] (the narrower side's dimensions), found {}",
                                 narrowest, topk));
  if (x.rows < topk)
    throw ShapeError(fmt::format("svcca: CCA of the top {} directions needs at least {} samples (rows), found {}",
                                 topk, topk, x.rows));
}

CcaSimilarity similarity_of(const CcaSolution& solution) {
  CcaSimilarity result;
  result.correlations.assign(solution.correlations.begin(), solution.correlations.end());
  result.kept_x = static_cast<int64_t>(solution.kept_x.size());
  result.kept_y = static_cast<int64_t>(solution.kept_y.size());
  return result;
}

// Each side's top `topk` principal directions (eigenvectors of its covariance, largest first).
PrincipalDirections principal_directions(const Eigen::MatrixXd& covariance, int topk) {
  const Eigen::Index n = covariance.rows();
  Eigen::VectorXd values(n);
  Eigen::MatrixXd vectors(n, n);
  symmetric_eigen(covariance.data(), n, values.data(), vectors.data());  // ascending eigenvalues
  return {values.tail(topk).reverse(), vectors.rightCols(topk).rowwise().reverse()};
}

// The projections on principal directions are uncorrelated, so their covariances are the variances
// on the diagonal; only the cross-covariance needs a product.
CcaSimilarity svcca_of(const JointCovariance& c, const PrincipalDirections& px, int topk) {
  const PrincipalDirections py = principal_directions(c.yy, topk);
  const Eigen::MatrixXd reduced_xy = px.directions.transpose() * c.xy * py.directions;
  CcaSimilarity result = similarity_of(solve_cca(Eigen::MatrixXd(px.variances.asDiagonal()), reduced_xy,
                                                 Eigen::MatrixXd(py.variances.asDiagonal())));
  if (!result.correlations.empty())
    result.similarity = Eigen::Map<const Eigen::VectorXd>(result.correlations.data(),
                                                          static_cast<Eigen::Index>(result.correlations.size()))
                            .mean();
  return result;
}

// PWCCA's weights: X's canonical variates orthonormalised in order (the published algorithm's QR; the
// variates are uncorrelated by construction, so this only corrects for the ridge), each weighted by
// the sum over X's features of |its inner product with the feature|. For variates Xc·a and Xc·b the
// inner product is a^T Σ b and variate Xc·q against feature j is (Σ q)_j, both up to the factor
// (samples − 1) that the normalisation removes, so no [samples, k] matrix is formed.
Eigen::VectorXd projection_weights(const Eigen::MatrixXd& covariance, Eigen::MatrixXd directions) {
  Eigen::MatrixXd projections(directions.rows(), directions.cols());  // column i: Σ q_i
  orthonormalise_in_metric(covariance.data(), directions.data(), projections.data(), directions.rows(),
                           directions.cols(), kVanishingVariance);
  const Eigen::VectorXd weights = projections.cwiseAbs().colwise().sum().transpose();
  return weights / weights.sum();
}

CcaSimilarity pwcca_of(const JointCovariance& c, const CcaSide& x_side) {
  const CcaSolution solution = solve_cca(x_side, c.xy, c.yy);
  CcaSimilarity result = similarity_of(solution);
  if (solution.correlations.size() == 0) return result;
  const Eigen::VectorXd weights =
      projection_weights(c.xx(solution.kept_x, solution.kept_x), solution.x_directions);
  result.weights.assign(weights.begin(), weights.end());
  result.similarity = weights.dot(solution.correlations);
  return result;
}

// Kornblith et al.'s feature-space form |Yc^T Xc|_F^2 / (|Xc^T Xc|_F |Yc^T Yc|_F); the 1 / (samples − 1)
// of the covariances cancels.
double linear_cka_of(const JointCovariance& c) {
  const double norms = c.xx.norm() * c.yy.norm();
  return norms == 0 ? 0.0 : c.xy.squaredNorm() / norms;
}

}  // namespace

CcaSimilarity svcca(ActivationMatrix x, ActivationMatrix y, int topk) {
  check_activation_pair(x, y);
  require_topk(x, y, topk);
  const JointCovariance c = joint_covariance(x, y);
  return svcca_of(c, principal_directions(c.xx, topk), topk);
}

CcaSimilarity pwcca(ActivationMatrix x, ActivationMatrix y) {
  check_activation_pair(x, y);
  require_cca_samples(x, y, "pwcca");
  const JointCovariance c = joint_covariance(x, y);
  return pwcca_of(c, prepare_cca_side(c.xx));
}

double svcca_similarity(ActivationMatrix x, ActivationMatrix y, int topk) { return svcca(x, y, topk).similarity; }

double pwcca_similarity(ActivationMatrix x, ActivationMatrix y) { return pwcca(x, y).similarity; }

double linear_cka_similarity(ActivationMatrix x, ActivationMatrix y) { return linear_cka_of(joint_covariance(x, y)); }

SimilarityScores similarity_scores(ActivationMatrix x, ActivationMatrix y, int svcca_topk) {
  check_activation_pair(x, y);
  require_topk(x, y, svcca_topk);
  require_cca_samples(x, y, "similarity_scores");
  const JointCovariance c = joint_covariance(x, y);
  return {svcca_of(c, principal_directions(c.xx, svcca_topk), svcca_topk).similarity,
          pwcca_of(c, prepare_cca_side(c.xx)).similarity, linear_cka_of(c)};
}

double linear_cka_through_maps(const Eigen::MatrixXd& covariance, const Eigen::MatrixXd& gram1,
                               const Eigen::MatrixXd& gram2) {
  const auto k = covariance.rows();
  for (const Eigen::MatrixXd* m : {&covariance, &gram1, &gram2})
    if (m->rows() != k || m->cols() != k)
      throw ShapeError(
          fmt::format("linear CKA through maps: expected [{0}, {0}] covariance and Grams, found [{1}, {2}]", k,
                      m->rows(), m->cols()));
  const Eigen::MatrixXd a = covariance * gram1, b = covariance * gram2;
  // tr(A B) = Σ_ij A_ij B_ji.
  const double cross = (a.array() * b.transpose().array()).sum();
  const double norms = std::sqrt((a.array() * a.transpose().array()).sum() * (b.array() * b.transpose().array()).sum());
  return norms == 0 ? 0.0 : cross / norms;
}

Eigen::MatrixXd weight_gram(const float* w, int64_t rows, int64_t cols) {
  Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(cols, cols);
  constexpr int64_t kChunk = 1024;  // rows widened to double at a time
  Eigen::MatrixXd block;
  for (int64_t r = 0; r < rows; r += kChunk) {
    const int64_t n = std::min(kChunk, rows - r);
    block =
        Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(w + r * cols, n, cols)
            .cast<double>();
    add_gram_lower(gram.data(), block.data(), n, cols);
  }
  return gram.selfadjointView<Eigen::Lower>();
}

SimilarityReference::SimilarityReference(ActivationMatrix x) : x_(x), side_(side_covariance(x)) {}

double SimilarityReference::svcca(ActivationMatrix y, int topk) const {
  check_activation_pair(x_, y);
  require_topk(x_, y, topk);
  const PrincipalDirections* px = nullptr;
  {
    const std::lock_guard<std::mutex> lock(principal_mutex_);
    auto it = principal_.find(topk);
    if (it == principal_.end()) it = principal_.emplace(topk, principal_directions(side_.covariance, topk)).first;
    px = &it->second;  // std::map never moves its elements
  }
  return svcca_of(joint_covariance(side_, x_, y), *px, topk).similarity;
}

double SimilarityReference::pwcca(ActivationMatrix y) const {
  check_activation_pair(x_, y);
  require_cca_samples(x_, y, "pwcca");
  std::call_once(whitening_, [&] { whitened_ = prepare_cca_side(side_.covariance); });
  return pwcca_of(joint_covariance(side_, x_, y), whitened_).similarity;
}

double SimilarityReference::linear_cka(ActivationMatrix y) const {
  return linear_cka_of(joint_covariance(side_, x_, y));
}

}  // namespace squish
