// fp16-weight kernel compiled for avx512 (flags in src/kernels/CMakeLists.txt).
#define SQUISH_ISA_NS isa_avx512
#include "kernels/gemm_f16_impl.h"
