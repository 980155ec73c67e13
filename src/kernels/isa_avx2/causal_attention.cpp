// The fused fp32 causal attention block compiled for avx2 (flags in src/kernels/CMakeLists.txt).
#define SQUISH_ISA_NS isa_avx2
#include "kernels/causal_attention_impl.h"
