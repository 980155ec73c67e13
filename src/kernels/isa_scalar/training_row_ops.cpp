// TrainingRowOps compiled for scalar (flags in src/kernels/CMakeLists.txt).
#define SQUISH_ISA_NS isa_scalar
#include "kernels/training_row_ops_impl.h"
