// cross_products.h's products compiled for AVX2 + FMA (flags in src/analysis/CMakeLists.txt). Eigen's
// namespace is renamed in this file alone, so nothing here shares a symbol with the SSE2 build of
// the same templates; only raw pointers cross the boundary.
#define Eigen squish_eigen_avx2
#include "analysis/cross_products.h"

#include <Eigen/Core>

namespace squish::isa_avx2 {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;

void add_cross_products(double* c, const double* a, const double* b, int64_t n, int64_t p, int64_t q) {
  Eigen::Map<Matrix>(c, p, q).noalias() +=
      Eigen::Map<const Matrix>(a, n, p).transpose() * Eigen::Map<const Matrix>(b, n, q);
}

void add_gram_lower(double* c, const double* a, int64_t n, int64_t p) {
  Eigen::Map<Matrix>(c, p, p).selfadjointView<Eigen::Lower>().rankUpdate(Eigen::Map<const Matrix>(a, n, p).transpose());
}

}  // namespace squish::isa_avx2
