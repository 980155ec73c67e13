#include "analysis/cross_products.h"

#include <Eigen/Core>
#include <cstdlib>
#include <string_view>

namespace squish {
namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;

// SQUISH_ISA=scalar caps these as it caps the kernels (kernels/cpu_features.h).
bool has_avx2() {
  static const bool avx2 = [] {
    const char* cap = std::getenv("SQUISH_ISA");
    if (cap && std::string_view(cap) == "scalar") return false;
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return avx2;
}

}  // namespace

void add_cross_products(double* c, const double* a, const double* b, int64_t n, int64_t p, int64_t q) {
  if (has_avx2()) return isa_avx2::add_cross_products(c, a, b, n, p, q);
  Eigen::Map<Matrix>(c, p, q).noalias() +=
      Eigen::Map<const Matrix>(a, n, p).transpose() * Eigen::Map<const Matrix>(b, n, q);
}

void add_gram_lower(double* c, const double* a, int64_t n, int64_t p) {
  if (has_avx2()) return isa_avx2::add_gram_lower(c, a, n, p);
  Eigen::Map<Matrix>(c, p, p).selfadjointView<Eigen::Lower>().rankUpdate(Eigen::Map<const Matrix>(a, n, p).transpose());
}

}  // namespace squish
