#include "model/common/tensor_binder.h"

#include "core/error.h"

namespace squish {

TensorBinder::TensorBinder(const TensorMap& tensors, std::string file, NameVariants variants)
    : tensors_(tensors), file_(std::move(file)), variants_(std::move(variants)) {}

std::vector<std::string> TensorBinder::spellings(const std::string& name) const {
  return variants_ ? variants_(name) : std::vector<std::string>{name};
}

bool TensorBinder::has(const std::string& name) const {
  for (const auto& n : spellings(name))
    if (tensors_.count(n)) return true;
  return false;
}

const RawTensor* TensorBinder::find(const std::string& name) {
  for (const auto& n : spellings(name)) {
    if (auto it = tensors_.find(n); it != tensors_.end()) {
      bound_.insert(it->first);
      return &it->second;
    }
  }
  return nullptr;
}

Tensor TensorBinder::take(const std::string& name, const Shape& shape) {
  const RawTensor* found = find(name);
  if (!found) throw ShapeError(file_ + ": missing tensor '" + name + "', expected shape " + shape_str(shape));
  if (found->shape != shape)
    throw ShapeError(file_ + ": tensor '" + name + "': expected shape " + shape_str(shape) + ", found " +
                     shape_str(found->shape));
  const DType t = found->dtype;
  if (t != DType::kF32 && t != DType::kF16 && t != DType::kBF16 && t != DType::kF64)
    throw FormatError(file_ + ": tensor '" + name + "': expected a float dtype (F32, F16, BF16, F64), found " +
                      std::string(dtype_name(t)));
  Tensor out(shape);
  convert_to_f32(out.data(), found->data, t, static_cast<size_t>(out.numel()));
  return out;
}

std::vector<std::string> TensorBinder::unbound() const {
  std::vector<std::string> out;
  for (const auto& [name, t] : tensors_)
    if (!bound_.count(name)) out.push_back(name);
  return out;
}

}  // namespace squish
