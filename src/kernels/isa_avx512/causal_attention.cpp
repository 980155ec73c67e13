// The fused fp32 causal attention block compiled for avx512 (flags in src/kernels/CMakeLists.txt).
#define SQUISH_ISA_NS isa_avx512
#include "kernels/causal_attention_impl.h"
