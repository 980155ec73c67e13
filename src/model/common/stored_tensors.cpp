#include "model/common/stored_tensors.h"

#include <algorithm>

namespace squish {

void StoredTensors::tensor(const std::string& name, const Tensor& t) {
  out_.push_back(kind_ == Kind::kCheckpoint ? tensor_to_write(name, t, dtype_) : tensor_to_write_lossless(name, t));
}

void StoredTensors::linear_part(const std::string& module, const Linear& l, int64_t first_row, int64_t rows) {
  if (kind_ == Kind::kContainer) {
    for (TensorToWrite& t : l.weights->stored_rows(first_row, rows)) {
      t.name = module + t.name;
      out_.push_back(std::move(t));
    }
    return;
  }
  auto [it, fresh] = dequantized_.try_emplace(&l);
  if (fresh) it->second = linear_dequantize(l);
  const int64_t k = l.in_features();
  Tensor slice({rows, k});
  std::copy_n(it->second.data() + first_row * k, rows * k, slice.data());
  out_.push_back(tensor_to_write(module + ".weight", slice, dtype_));
}

void StoredTensors::linear(const Linear& l) {
  int64_t first = 0;
  for (const LinearPart& part : l.parts) {
    linear_part(part.name, l, first, part.rows);
    if (!l.bias.values.empty()) {
      Tensor bias({part.rows});
      std::copy_n(l.bias.data() + first, part.rows, bias.data());
      tensor(part.name + ".bias", bias);
    }
    first += part.rows;
  }
}

void StoredTensors::table(const std::string& module, const EmbeddingTable& t) {
  if (kind_ == Kind::kCheckpoint) {
    out_.push_back(tensor_to_write(module + ".weight", t.dequantize(), dtype_));
    return;
  }
  for (TensorToWrite& stored : t.stored(module)) out_.push_back(std::move(stored));
}

}  // namespace squish
