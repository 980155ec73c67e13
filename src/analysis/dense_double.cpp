#define SQUISH_DENSE_DOUBLE_ISA isa_base
#include <cstdlib>
#include <string_view>

#include "analysis/dense_double_impl.h"

namespace squish {
namespace {

// The AVX2 build where the CPU has AVX2 and FMA, unless SQUISH_ISA=scalar caps it as it caps the
// kernels (kernels/cpu_features.h; analysis sits below the kernels, so it reads the cap itself).
const DenseDoubleRoutines& widest() {
  static const DenseDoubleRoutines& routines = []() -> const DenseDoubleRoutines& {
    const char* cap = std::getenv("SQUISH_ISA");
    const bool avx2 =
        !(cap && std::string_view(cap) == "scalar") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return avx2 ? isa_avx2::dense_double_routines() : isa_base::dense_double_routines();
  }();
  return routines;
}

}  // namespace

void add_cross_products(double* c, const double* a, const double* b, int64_t n, int64_t p, int64_t q) {
  widest().add_cross_products(c, a, b, n, p, q);
}
void add_gram_lower(double* c, const double* a, int64_t n, int64_t p) { widest().add_gram_lower(c, a, n, p); }
void symmetric_eigen(const double* a, int64_t n, double* values, double* vectors) {
  widest().symmetric_eigen(a, n, values, vectors);
}
void symmetric_inverse_sqrt(const double* a, int64_t n, double* out) { widest().symmetric_inverse_sqrt(a, n, out); }
void whitened_cross_svd(const double* a, const double* c, const double* s, int64_t p, int64_t q,
                        double* singular_values, double* directions) {
  widest().whitened_cross_svd(a, c, s, p, q, singular_values, directions);
}
void orthonormalise_in_metric(const double* metric, double* directions, double* projections, int64_t n, int64_t k,
                              double vanishing) {
  widest().orthonormalise_in_metric(metric, directions, projections, n, k, vanishing);
}

}  // namespace squish
