#include "model/common/parameter_buffer.h"

#include <algorithm>

#include "core/error.h"

namespace squish {

int ParameterLayout::add(ParameterTensor tensor) {
  for (const ParameterTensor& t : tensors_)
    if (t.name == tensor.name) throw ShapeError("parameter " + tensor.name + " declared twice");
  tensor.offset = floats_;
  floats_ += (tensor.numel() + 15) / 16 * 16;
  tensors_.push_back(std::move(tensor));
  return static_cast<int>(tensors_.size()) - 1;
}

int64_t ParameterLayout::parameters() const {
  int64_t n = 0;
  for (const ParameterTensor& t : tensors_) n += t.numel();
  return n;
}

int ParameterLayout::index(const std::string& name) const {
  for (size_t i = 0; i < tensors_.size(); ++i)
    if (tensors_[i].name == name) return static_cast<int>(i);
  throw Error(ExitCode::kInternal, "no parameter named " + name);
}

ParameterBuffer::ParameterBuffer(std::shared_ptr<const ParameterLayout> layout)
    : layout_(std::move(layout)), values_(static_cast<size_t>(layout_->floats()), 0.0f) {}

void ParameterBuffer::apply_mask(const ParameterBuffer& mask) {
  if (mask.floats() != floats())
    throw ShapeError("apply_mask: a mask of " + std::to_string(mask.floats()) + " floats for parameters of " +
                     std::to_string(floats()));
  float* x = values_.data();
  const float* m = mask.all();
  const auto n = static_cast<int64_t>(values_.size());
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) x[i] = m[i] == 0.0f ? 0.0f : x[i];
}

void ParameterBuffer::set_zero() { std::fill(values_.begin(), values_.end(), 0.0f); }

}  // namespace squish
