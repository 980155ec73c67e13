// TrainingRowOps compiled for avx2 (flags in src/kernels/CMakeLists.txt).
#define SQUISH_ISA_NS isa_avx2
#include "kernels/training_row_ops_impl.h"
