#include "model/common/int8_linear_weights.h"

#include <algorithm>

#include "kernels/gemm_int8.h"

namespace squish {

Int8LinearWeights::Int8LinearWeights(const Int8Weights& w, int64_t n, int64_t k, WeightGranularity granularity,
                                     std::optional<U8Params> static_input, int activation_qmax)
    : packed_(PackedInt8Weights::pack(w.q.data(), n, k, activation_qmax)),
      scales_(w.scales),
      granularity_(granularity),
      static_input_(static_input),
      activation_qmax_(activation_qmax) {
  if (static_input_) static_gemm_.emplace(packed_, static_input_->scale, static_input_->zero_point, scales_);
}

std::string_view Int8LinearWeights::format() const { return static_input_ ? "int8-static" : "int8-dynamic"; }
int64_t Int8LinearWeights::out_features() const { return packed_.n(); }
int64_t Int8LinearWeights::in_features() const { return packed_.k(); }
int64_t Int8LinearWeights::bytes() const {
  return packed_.bytes() + static_cast<int64_t>(scales_.size() * sizeof(float));
}

Tensor Int8LinearWeights::dequantize() const {
  std::vector<int8_t> q(static_cast<size_t>(packed_.n() * packed_.k()));
  packed_.unpack(q.data());
  return dequantize_weights_s8({std::move(q), scales_}, packed_.n(), packed_.k());
}

void Int8LinearWeights::apply(float* y, const float* x, const float* bias, int64_t m, Epilogue epilogue,
                              LinearWorkspace& workspace) const {
  const int64_t n = packed_.n(), k = packed_.k();
  if (static_gemm_) {
    auto* xq = static_cast<uint8_t*>(workspace.reserve(static_cast<size_t>(m * k)));
    quantize_u8(x, m * k, *static_input_, activation_qmax_, xq);
    static_gemm_->run(y, xq, bias, m, epilogue);
    return;
  }
  // One arena: quantized inputs, their row scales and zero points, the int32 products (oneDNN only).
  const size_t xq_bytes = static_cast<size_t>(m * k + 63) / 64 * 64;
  const size_t row_bytes = static_cast<size_t>(m) * 4 + 64;
  const size_t acc_bytes = packed_.on_onednn() ? static_cast<size_t>(m * n) * 4 : 0;
  auto* base = static_cast<std::byte*>(workspace.reserve(xq_bytes + 2 * row_bytes + acc_bytes));
  auto* xq = reinterpret_cast<uint8_t*>(base);
  auto* x_scales = reinterpret_cast<float*>(base + xq_bytes);
  auto* x_zero = reinterpret_cast<int32_t*>(base + xq_bytes + row_bytes);
  auto* acc = reinterpret_cast<int32_t*>(base + xq_bytes + 2 * row_bytes);
  quantize_rows_u8(x, m, k, activation_qmax_, xq, x_scales, x_zero);
  gemm_u8s8_dequant(y, xq, packed_, x_scales, x_zero, scales_.data(), bias, m, epilogue, acc_bytes ? acc : nullptr);
}

std::vector<TensorToWrite> Int8LinearWeights::stored_rows(int64_t first, int64_t rows) const {
  const int64_t k = packed_.k();
  std::vector<int8_t> q(static_cast<size_t>(packed_.n() * k));
  packed_.unpack(q.data());
  const bool per_tensor = granularity_ == WeightGranularity::kPerTensor;
  std::vector<TensorToWrite> out = {
      array_to_write(".weight", DType::kI8, {rows, k}, q.data() + first * k),
      array_to_write(".weight_scale", DType::kF32, {per_tensor ? 1 : rows}, scales_.data() + first)};
  if (static_input_) {
    const auto zero_point = static_cast<uint8_t>(static_input_->zero_point);
    out.push_back(array_to_write(".input_scale", DType::kF32, {1}, &static_input_->scale));
    out.push_back(array_to_write(".input_zero_point", DType::kU8, {1}, &zero_point));
  }
  if (activation_qmax_ != kActivationQmax) {
    const auto qmax = static_cast<uint8_t>(activation_qmax_);
    out.push_back(array_to_write(".input_qmax", DType::kU8, {1}, &qmax));
  }
  return out;
}

const Int8LinearWeights* int8_weights_of(const Linear& linear) {
  return dynamic_cast<const Int8LinearWeights*>(linear.weights.get());
}

}  // namespace squish
