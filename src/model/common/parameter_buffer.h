// Trainable parameters as one contiguous fp32 buffer with named tensor views (llm.c's layout):
// gradients, AdamW moments, pruning masks and rewind points are further buffers of the same
// layout, so an optimizer step or a mask is one loop over floats and per-tensor rules (weight
// decay, what pruning may touch) come from each tensor's kind.
// Inference never sees this: a model is trained on a ParameterBuffer and written back into its
// Linears (model/bert/bert_parameters.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "model/common/linear.h"

namespace squish {

enum class ParameterKind {
  kEmbedding,     // word, position, token-type tables
  kLayerNorm,     // gamma and beta
  kBias,          // a Linear's bias
  kLinearWeight,  // a Linear's [N, K] weight
};

struct ParameterTensor {
  std::string name;   // a Linear's name + ".weight"/".bias", or the HF name ("embeddings.LayerNorm.weight")
  Shape shape;
  int64_t offset = 0; // floats from the buffer's start; a multiple of 16, so every tensor is 64-byte aligned
  ParameterKind kind = ParameterKind::kLinearWeight;
  int layer = -1;     // encoder layer, -1 outside the layers
  LinearRole role = LinearRole::kClassifier;  // kLinearWeight and kBias only
  int64_t numel() const { return shape_numel(shape); }
  // HF Trainer's rule: no weight decay on biases and LayerNorm.
  bool decays() const { return kind == ParameterKind::kEmbedding || kind == ParameterKind::kLinearWeight; }
};

class ParameterLayout {
 public:
  // Appends a tensor and returns its index. ShapeError for a duplicate name.
  int add(ParameterTensor tensor);
  const std::vector<ParameterTensor>& tensors() const { return tensors_; }
  const ParameterTensor& tensor(int i) const { return tensors_.at(static_cast<size_t>(i)); }
  int64_t floats() const { return floats_; }
  int64_t parameters() const;  // sum of numel (the buffer's alignment padding excluded)
  // The index of `name`; Error naming it when absent.
  int index(const std::string& name) const;

 private:
  std::vector<ParameterTensor> tensors_;
  int64_t floats_ = 0;
};

// A buffer of floats laid out by a shared layout, zero-initialised.
class ParameterBuffer {
 public:
  ParameterBuffer() = default;
  explicit ParameterBuffer(std::shared_ptr<const ParameterLayout> layout);
  const ParameterLayout& layout() const { return *layout_; }
  const std::shared_ptr<const ParameterLayout>& shared_layout() const { return layout_; }
  float* data(int i) { return values_.data() + layout_->tensor(i).offset; }
  const float* data(int i) const { return values_.data() + layout_->tensor(i).offset; }
  float* all() { return values_.data(); }
  const float* all() const { return values_.data(); }
  int64_t floats() const { return static_cast<int64_t>(values_.size()); }
  void set_zero();
  // Entries where `mask` (same layout) is 0 become +0.0f (a select, not a product, which would give
  // -0.0f for negative weights); the rest are kept. ShapeError for another layout.
  void apply_mask(const ParameterBuffer& mask);

 private:
  std::shared_ptr<const ParameterLayout> layout_;
  AlignedVector<float> values_;
};

}  // namespace squish
