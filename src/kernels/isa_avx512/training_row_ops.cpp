// TrainingRowOps compiled for avx512 (flags in src/kernels/CMakeLists.txt).
#define SQUISH_ISA_NS isa_avx512
#include "kernels/training_row_ops_impl.h"
