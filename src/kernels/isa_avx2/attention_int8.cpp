// Int8 attention kernels compiled for avx2 (flags in src/kernels/CMakeLists.txt).
#define SQUISH_ISA_NS isa_avx2
#include "kernels/attention_int8_impl.h"
