// Int8 attention kernels compiled for scalar (flags in src/kernels/CMakeLists.txt).
#define SQUISH_ISA_NS isa_scalar
#include "kernels/attention_int8_impl.h"
