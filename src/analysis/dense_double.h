// The double-precision linear algebra the similarity measures spend their time in, on the widest code
// this CPU runs. Eigen is header-only and the project is compiled without -march=native, so Eigen
// alone runs SSE2 doubles; every routine here is also compiled for AVX2 + FMA (isa_avx2/, about 2x
// faster) and chosen at run time where the CPU has them (and SQUISH_ISA=scalar does not forbid it),
// under a renamed Eigen namespace so that its template instantiations cannot be mistaken by the
// linker for the SSE2 ones. Only raw pointers cross the boundary; all matrices are column-major. The
// two builds differ only in the rounding of sums.
#pragma once

#include <cstdint>

namespace squish {

// c [p, q] += aᵀ b, with a [n, p] and b [n, q].
void add_cross_products(double* c, const double* a, const double* b, int64_t n, int64_t p, int64_t q);
// The lower triangle of c [p, p] += aᵀ a, with a [n, p].
void add_gram_lower(double* c, const double* a, int64_t n, int64_t p);
// The eigenvalues (ascending) and eigenvectors (columns of vectors [n, n]) of a symmetric a [n, n].
void symmetric_eigen(const double* a, int64_t n, double* values, double* vectors);
// out [n, n] = a^-1/2 of a symmetric positive definite a [n, n], from its eigendecomposition.
void symmetric_inverse_sqrt(const double* a, int64_t n, double* out);
// The singular values (descending, k = min(p, q) of them) of W = a c L^-T, L Lᵀ = s the Cholesky factor
// of a symmetric positive definite s [q, q], with a [p, p] and c [p, q]; directions [p, k] = a U, U W's
// left singular vectors. With a = Sxx^-1/2, c = Sxy, s = Syy these are the canonical correlations and
// X's directions: W differs from Sxx^-1/2 Sxy Syy^-1/2 by an orthogonal factor on the right, so both
// have the same singular values and left vectors, and a Cholesky factor costs a fraction of Syy^-1/2.
// NaN everywhere when s is not positive definite.
void whitened_cross_svd(const double* a, const double* c, const double* s, int64_t p, int64_t q,
                        double* singular_values, double* directions);
// Orthonormalises the k columns of directions [n, k] in order in the inner product of a symmetric
// positive semi-definite metric [n, n] (modified Gram-Schmidt), keeping projections = metric ·
// directions in step; a column left with squared norm below `vanishing` is zeroed.
void orthonormalise_in_metric(const double* metric, double* directions, double* projections, int64_t n, int64_t k,
                              double vanishing);

// One build's routines, as the functions above dispatch to them (and tests check each build).
struct DenseDoubleRoutines {
  void (*add_cross_products)(double*, const double*, const double*, int64_t, int64_t, int64_t);
  void (*add_gram_lower)(double*, const double*, int64_t, int64_t);
  void (*symmetric_eigen)(const double*, int64_t, double*, double*);
  void (*symmetric_inverse_sqrt)(const double*, int64_t, double*);
  void (*whitened_cross_svd)(const double*, const double*, const double*, int64_t, int64_t, double*, double*);
  void (*orthonormalise_in_metric)(const double*, double*, double*, int64_t, int64_t, double);
};
namespace isa_base {
const DenseDoubleRoutines& dense_double_routines();  // SSE2
}
namespace isa_avx2 {
const DenseDoubleRoutines& dense_double_routines();  // AVX2 + FMA: call only where the CPU has both
}

}  // namespace squish
