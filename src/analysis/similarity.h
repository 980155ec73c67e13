// How alike two representations of the same samples are, e.g. a layer's output in the fp32 model and
// in a quantized one, or two layers of one model (docs/sensitivity.md):
//   SVCCA (Raghu et al. 2017): each side centred and reduced to its top `topk` singular directions,
//     then CCA between the reductions; the mean canonical correlation.
//   PWCCA (Morcos et al. 2018): CCA, then the mean of the canonical correlations weighted by how much
//     of X each canonical variate accounts for (asymmetric: X is the reference side).
//   Linear CKA (Kornblith et al. 2019) on centred features.
// All three lie in [0, 1] (1: the same representation up to the transforms each ignores) and come from
// one pass over the samples (analysis/covariance.h), in double precision; CCA is regularised as
// google/svcca does (analysis/cca.h: kCcaEpsilon).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "analysis/activation_matrix.h"
#include "analysis/cca.h"
#include "analysis/covariance.h"

namespace squish {

struct CcaSimilarity {
  double similarity = 0;              // SVCCA: the mean of `correlations`; PWCCA: their weighted mean
  std::vector<double> correlations;   // canonical correlations, descending
  std::vector<double> weights;        // PWCCA: one per correlation, summing to 1; empty for SVCCA
  // Dimensions CCA used on each side: features (PWCCA) or principal directions (SVCCA) left after
  // dropping those without variance.
  int64_t kept_x = 0, kept_y = 0;
};

// The three measures of one pair.
struct SimilarityScores {
  double svcca = 0, pwcca = 0, linear_cka = 0;
};

// Errors (ShapeError): a null or empty matrix, rows that differ between x and y. CCA needs at least
// as many samples as dimensions on each side: x.cols and y.cols for PWCCA, `topk` for SVCCA, whose
// `topk` must lie in [1, min(x.cols, y.cols)]. Linear CKA needs 2 samples. DataError for a NaN or
// infinite activation.
// Constant features and directions never give NaN: CCA drops features of (near) zero variance and
// gives a zero-variance direction correlation ~0 (analysis/cca.h); a side with no variance at all
// makes every measure 0.
CcaSimilarity svcca(ActivationMatrix x, ActivationMatrix y, int topk);
CcaSimilarity pwcca(ActivationMatrix x, ActivationMatrix y);

double svcca_similarity(ActivationMatrix x, ActivationMatrix y, int topk);
double pwcca_similarity(ActivationMatrix x, ActivationMatrix y);
double linear_cka_similarity(ActivationMatrix x, ActivationMatrix y);

// The three at once, reading the samples once (the covariances are most of the cost).
SimilarityScores similarity_scores(ActivationMatrix x, ActivationMatrix y, int svcca_topk);

// Linear CKA between two linear maps of the same samples, Z1 = X W1ᵀ and Z2 = X W2ᵀ (a head's
// logits before and after its weights are quantized), from X's covariance Σ and the maps' Grams
// Mi = Wiᵀ Wi, never forming the [rows, V] outputs: Z's cross-covariance is W1 Σ W2ᵀ, so
// CKA = tr(Σ M1 Σ M2) / sqrt(tr((Σ M1)²) · tr((Σ M2)²)). CCA cannot tell such maps apart (it is
// invariant to invertible linear maps of either side); CKA can. ShapeError for sizes that differ;
// 0 when either side has no variance.
double linear_cka_through_maps(const Eigen::MatrixXd& covariance, const Eigen::MatrixXd& gram1,
                               const Eigen::MatrixXd& gram2);
// Wᵀ W of a row-major W [rows, cols], in double.
Eigen::MatrixXd weight_gram(const float* w, int64_t rows, int64_t cols);

// A side's top principal directions (eigenvectors of its covariance, largest variance first), what
// SVCCA reduces it to.
struct PrincipalDirections {
  Eigen::VectorXd variances;
  Eigen::MatrixXd directions;
};

// A reference representation compared with many others (sensitivity compares each layer's fp32
// output with the output of every width): its mean and covariance are computed once, and PWCCA's
// whitening of it and SVCCA's principal directions (per topk) on first use. Every call equals the
// pairwise function above bit for bit, errors included. `x`'s data must outlive it; its methods may
// run on several threads at once.
class SimilarityReference {
 public:
  explicit SimilarityReference(ActivationMatrix x);
  double svcca(ActivationMatrix y, int topk) const;
  double pwcca(ActivationMatrix y) const;
  double linear_cka(ActivationMatrix y) const;

 private:
  ActivationMatrix x_;
  SideCovariance side_;
  mutable std::once_flag whitening_;
  mutable CcaSide whitened_;
  mutable std::mutex principal_mutex_;
  mutable std::map<int, PrincipalDirections> principal_;  // by topk
};

}  // namespace squish
