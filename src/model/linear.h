// A Linear layer y = x W^T + b as the model sees it: one seam between the model and the weight
// representation. Today it holds fp32 weights packed for oneDNN; quantized representations
// (int8 per channel with dynamic or static activation scales, packed 2/4-bit groups, masks) will
// be other alternatives behind the same apply(), so the forward pass never changes with the scheme.
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "kernels/gemm.h"

namespace squish {

struct Linear {
  Tensor weight;  // [N, K], PyTorch nn.Linear layout (out_features, in_features)
  Tensor bias;    // [N]
  PackedWeights packed;

  int64_t out_features() const { return weight.dim(0); }
  int64_t in_features() const { return weight.dim(1); }
};

// Packs the weights for the GEMM; call once after the weights are set.
Linear make_linear(Tensor weight, Tensor bias);
// y[m, N] = epilogue(x[m, K] W^T + b)
void linear_apply(const Linear& layer, float* y, const float* x, int64_t m, Epilogue epilogue = Epilogue::kNone);

}  // namespace squish
