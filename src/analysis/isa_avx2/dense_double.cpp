// dense_double.h's routines compiled for AVX2 + FMA (flags in src/analysis/CMakeLists.txt). Eigen's
// namespace is renamed in this file alone, so nothing here shares a symbol with the SSE2 build of the
// same templates.
#define Eigen squish_eigen_avx2
#define SQUISH_DENSE_DOUBLE_ISA isa_avx2
#include "analysis/dense_double_impl.h"
