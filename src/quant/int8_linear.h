// Dynamic W8A32 behind the Linear seam: int8 weights (int8_scheme.h), activations quantized per
// row at run time from their own min/max, the product in exact int32 on the int8 GEMM, then
// dequantized, the bias added and the Linear's epilogue applied (kernels/epilogue.h). The model's
// forward pass does not change: a Linear just holds these weights instead of dense fp32 ones.
#pragma once

#include <memory>

#include "model/common/linear.h"
#include "quant/int8_scheme.h"

namespace squish {

std::shared_ptr<const LinearWeights> int8_dynamic_weights(const Int8Weights& w, int64_t n, int64_t k);

// The Linear with its weights quantized (per output channel, or per tensor); identity and bias kept.
Linear quantize_linear_dynamic(const Linear& linear, bool per_channel);

}  // namespace squish
