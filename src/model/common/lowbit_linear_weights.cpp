#include "model/common/lowbit_linear_weights.h"

#include "core/dtype.h"
#include "model/common/lowbit_storage.h"

namespace squish {

GroupLinearWeights::GroupLinearWeights(const GroupQuantized& q)
    : packed_(PackedLowBitWeights::pack(q)), format_(group_format_name({q.bits, q.group_size})) {}

Tensor GroupLinearWeights::dequantize() const {
  Tensor w({packed_.n(), packed_.k()});
  dequantize_groups(packed_.unpack(), w.data());
  return w;
}

void GroupLinearWeights::apply(float* y, const float* x, const float* bias, int64_t m, Epilogue epilogue,
                               LinearWorkspace& workspace) const {
  gemm_lowbit(y, x, packed_, bias, m, epilogue,
              workspace.reserve(static_cast<size_t>(gemm_lowbit_workspace_bytes(packed_, m))));
}

std::vector<TensorToWrite> GroupLinearWeights::stored_rows(int64_t first, int64_t rows) const {
  return stored_groups(packed_.unpack(), first, rows);
}

F16LinearWeights::F16LinearWeights(const std::vector<uint16_t>& halves, int64_t n, int64_t k)
    : packed_(PackedF16Weights::pack(halves.data(), n, k)) {}

Tensor F16LinearWeights::dequantize() const {
  Tensor w({packed_.n(), packed_.k()});
  const std::vector<uint16_t> h = packed_.unpack();
  for (size_t i = 0; i < h.size(); ++i) w.values[i] = half_to_float(h[i]);
  return w;
}

void F16LinearWeights::apply(float* y, const float* x, const float* bias, int64_t m, Epilogue epilogue,
                             LinearWorkspace& workspace) const {
  gemm_f16(y, x, packed_, bias, m, epilogue, workspace.reserve(static_cast<size_t>(gemm_f16_workspace_bytes(packed_, m))));
}

std::vector<TensorToWrite> F16LinearWeights::stored_rows(int64_t first, int64_t rows) const {
  return stored_f16(packed_.unpack(), packed_.k(), first, rows);
}

std::vector<uint16_t> round_to_f16(const Tensor& w) {
  std::vector<uint16_t> h(w.values.size());
  for (size_t i = 0; i < h.size(); ++i) h[i] = float_to_half(w.values[i]);
  return h;
}

}  // namespace squish
