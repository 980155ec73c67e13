#include "quant/int8_linear.h"

#include "kernels/gemm_int8.h"

namespace squish {
namespace {

class Int8DynamicWeights final : public LinearWeights {
 public:
  Int8DynamicWeights(const Int8Weights& w, int64_t n, int64_t k)
      : packed_(PackedInt8Weights::pack(w.q.data(), n, k)), scales_(w.scales) {
    if (scales_.size() == 1) scales_.assign(static_cast<size_t>(n), scales_[0]);
  }
  std::string_view format() const override { return "int8-dynamic"; }
  int64_t out_features() const override { return packed_.n(); }
  int64_t in_features() const override { return packed_.k(); }
  int64_t bytes() const override {
    return packed_.bytes() + static_cast<int64_t>(scales_.size() * sizeof(float));
  }
  Tensor dequantize() const override {
    std::vector<int8_t> q(static_cast<size_t>(packed_.n() * packed_.k()));
    packed_.unpack(q.data());
    return dequantize_weights_s8({std::move(q), scales_}, packed_.n(), packed_.k());
  }
  void apply(float* y, const float* x, const float* bias, int64_t m, Epilogue epilogue,
             LinearWorkspace& workspace) const override {
    const int64_t n = packed_.n(), k = packed_.k();
    // One arena: quantized inputs, their row scales and zero points, the int32 products.
    const size_t xq_bytes = static_cast<size_t>(m * k + 63) / 64 * 64;
    const size_t row_bytes = static_cast<size_t>(m) * 4 + 64;
    auto* base = static_cast<std::byte*>(workspace.reserve(xq_bytes + 2 * row_bytes + static_cast<size_t>(m * n) * 4));
    auto* xq = reinterpret_cast<uint8_t*>(base);
    auto* x_scales = reinterpret_cast<float*>(base + xq_bytes);
    auto* x_zero = reinterpret_cast<int32_t*>(base + xq_bytes + row_bytes);
    auto* acc = reinterpret_cast<int32_t*>(base + xq_bytes + 2 * row_bytes);
    quantize_rows_u8(x, m, k, int8_activation_max(), xq, x_scales, x_zero);
    gemm_u8s8s32(acc, xq, packed_, m);
    apply_dequant_epilogue(y, acc, x_scales, x_zero, scales_.data(), packed_.row_sums().data(), bias, m, n, epilogue);
  }

 private:
  PackedInt8Weights packed_;
  std::vector<float> scales_;  // per output channel (a per-tensor scale repeated)
};

}  // namespace

std::shared_ptr<const LinearWeights> int8_dynamic_weights(const Int8Weights& w, int64_t n, int64_t k) {
  return std::make_shared<Int8DynamicWeights>(w, n, k);
}

Linear quantize_linear_dynamic(const Linear& linear, bool per_channel) {
  const Tensor w = linear_dequantize(linear);
  Linear out = linear;
  out.weights = int8_dynamic_weights(quantize_weights_s8(w, per_channel), w.dim(0), w.dim(1));
  return out;
}

}  // namespace squish
