// The fused fp32 causal attention block compiled for scalar (flags in src/kernels/CMakeLists.txt).
#define SQUISH_ISA_NS isa_scalar
#include "kernels/causal_attention_impl.h"
