#include "model/linear.h"

namespace squish {

Linear make_linear(Tensor weight, Tensor bias) {
  Linear l;
  l.weight = std::move(weight);
  l.bias = std::move(bias);
  l.packed = PackedWeights::pack(l.weight.data(), l.weight.dim(0), l.weight.dim(1));
  return l;
}

void linear_apply(const Linear& layer, float* y, const float* x, int64_t m, Epilogue epilogue) {
  gemm_packed(y, x, layer.packed, layer.bias.data(), m, epilogue);
}

}  // namespace squish
