// Binds the tensors of a checkpoint to a model's weight structs by name, for every architecture:
// each lookup tries the architecture's spellings of a canonical name in order, checks the shape
// and the dtype, converts to fp32, and remembers what was taken so the loader can list what the
// architecture left unused.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace squish {

class TensorBinder {
 public:
  // Candidate spellings of one canonical name, in order of preference (the name itself first).
  using NameVariants = std::function<std::vector<std::string>(const std::string& canonical)>;

  TensorBinder(const TensorMap& tensors, std::string file, NameVariants variants = {});

  bool has(const std::string& name) const;
  // The stored tensor under any spelling of `name`, marked used; null when there is none.
  const RawTensor* find(const std::string& name);
  // fp32 values of `name`; ShapeError naming the file for a missing tensor or another shape,
  // FormatError for a dtype that does not hold real numbers.
  Tensor take(const std::string& name, const Shape& shape);
  // Stored tensors the architecture did not take (an MLM head, position_ids buffers, ...).
  std::vector<std::string> unbound() const;

 private:
  std::vector<std::string> spellings(const std::string& name) const;

  const TensorMap& tensors_;
  std::string file_;
  NameVariants variants_;
  std::set<std::string> bound_;
};

}  // namespace squish
