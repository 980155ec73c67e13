#include "model/common/linear.h"

#include <algorithm>

#include "core/error.h"
#include "kernels/gemm.h"

namespace squish {
namespace {

class DenseF32Weights final : public LinearWeights {
 public:
  explicit DenseF32Weights(const Tensor& w) : packed_(PackedWeights::pack(w.data(), w.dim(0), w.dim(1))) {}
  std::string_view format() const override { return "f32"; }
  int64_t out_features() const override { return packed_.n(); }
  int64_t in_features() const override { return packed_.k(); }
  int64_t bytes() const override { return packed_.bytes(); }
  Tensor dequantize() const override {
    Tensor w({packed_.n(), packed_.k()});
    packed_.unpack(w.data());
    return w;
  }
  void apply(float* y, const float* x, const float* bias, int64_t m, Epilogue epilogue,
             LinearWorkspace&) const override {
    gemm_packed(y, x, packed_, bias, m, epilogue);
  }
  std::vector<TensorToWrite> stored_rows(int64_t first, int64_t rows) const override {
    const Tensor w = dequantize();
    Tensor slice({rows, packed_.k()});
    std::copy_n(w.data() + first * packed_.k(), rows * packed_.k(), slice.data());
    return {tensor_to_write_lossless(".weight", slice)};
  }

 private:
  PackedWeights packed_;
};

}  // namespace

std::string_view linear_role_name(LinearRole role) {
  switch (role) {
    case LinearRole::kAttentionQkv: return "attention_qkv";
    case LinearRole::kAttentionOut: return "attention_out";
    case LinearRole::kFfnIn: return "ffn_in";
    case LinearRole::kFfnOut: return "ffn_out";
    case LinearRole::kPooler: return "pooler";
    case LinearRole::kClassifier: return "classifier";
    case LinearRole::kLmHead: return "lm_head";
  }
  return "?";
}

void* LinearWorkspace::reserve(size_t bytes) {
  if (buffer_.size() < bytes) buffer_.resize(bytes);
  return buffer_.data();
}

std::shared_ptr<const LinearWeights> dense_f32_weights(const Tensor& weight) {
  return std::make_shared<DenseF32Weights>(weight);
}

Linear make_linear(std::string name, LinearRole role, int layer, const Tensor& weight, Tensor bias,
                   std::vector<LinearPart> parts) {
  if (weight.shape.size() != 2)
    throw ShapeError(name + ": expected weight [N, K], found " + shape_str(weight.shape));
  return make_linear(std::move(name), role, layer, dense_f32_weights(weight), std::move(bias), std::move(parts));
}

Linear make_linear(std::string name, LinearRole role, int layer, std::shared_ptr<const LinearWeights> weights,
                   Tensor bias, std::vector<LinearPart> parts) {
  const int64_t n = weights->out_features();
  if (!bias.shape.empty() && (bias.shape.size() != 1 || bias.dim(0) != n))
    throw ShapeError(name + ": expected bias [" + std::to_string(n) + "], found " + shape_str(bias.shape));
  Linear l;
  if (parts.empty()) parts.push_back({name, n});
  int64_t rows = 0;
  for (const auto& p : parts) rows += p.rows;
  if (rows != n)
    throw ShapeError(name + ": its parts cover " + std::to_string(rows) + " rows of " + std::to_string(n));
  l.name = std::move(name);
  l.role = role;
  l.layer = layer;
  l.parts = std::move(parts);
  l.bias = std::move(bias);
  l.weights = std::move(weights);
  return l;
}

void linear_apply(const Linear& layer, float* y, const float* x, int64_t m, Epilogue epilogue,
                  LinearWorkspace& workspace) {
  layer.weights->apply(y, x, layer.bias.data(), m, epilogue, workspace);
}

int64_t linear_bytes(const Linear& layer) {
  return layer.weights->bytes() + layer.bias.numel() * static_cast<int64_t>(sizeof(float));
}

int64_t linear_parameters(const Linear& layer) { return layer.out_features() * layer.in_features() + layer.bias.numel(); }

Tensor linear_dequantize(const Linear& layer) { return layer.weights->dequantize(); }

}  // namespace squish
