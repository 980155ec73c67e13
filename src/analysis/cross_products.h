// The double-precision products every covariance here is made of, on the widest code this CPU runs.
// Eigen is header-only and the project is compiled without -march=native, so Eigen's GEMM runs SSE2
// doubles; an AVX2 + FMA copy of these two products (isa_avx2/) is chosen at run time where the CPU
// has them, about 2x faster, under a renamed Eigen namespace so that its template instantiations
// cannot be mistaken by the linker for the SSE2 ones. The results differ between the two only in
// the rounding of their sums.
#pragma once

#include <cstdint>

namespace squish {

// c [p, q] += aᵀ b, with a [n, p] and b [n, q]; all column-major doubles.
void add_cross_products(double* c, const double* a, const double* b, int64_t n, int64_t p, int64_t q);
// The lower triangle of c [p, p] += aᵀ a, with a [n, p]; column-major doubles.
void add_gram_lower(double* c, const double* a, int64_t n, int64_t p);

namespace isa_avx2 {
void add_cross_products(double* c, const double* a, const double* b, int64_t n, int64_t p, int64_t q);
void add_gram_lower(double* c, const double* a, int64_t n, int64_t p);
}  // namespace isa_avx2

}  // namespace squish
