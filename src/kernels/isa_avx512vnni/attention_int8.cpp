// Int8 attention kernels compiled for avx512vnni (flags in src/kernels/CMakeLists.txt).
#define SQUISH_ISA_NS isa_avx512vnni
#include "kernels/attention_int8_impl.h"
