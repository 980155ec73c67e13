// fp16-weight kernel compiled for scalar (flags in src/kernels/CMakeLists.txt).
#define SQUISH_ISA_NS isa_scalar
#include "kernels/gemm_f16_impl.h"
