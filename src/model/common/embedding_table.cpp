#include "model/common/embedding_table.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "kernels/int8_scheme.h"

namespace squish {

EmbeddingTable EmbeddingTable::dense(Tensor values) {
  EmbeddingTable t;
  t.rows_ = values.dim(0);
  t.cols_ = values.dim(1);
  t.values_ = std::move(values);
  return t;
}

EmbeddingTable EmbeddingTable::int8_rows(const Tensor& values) {
  Int8Weights w = quantize_weights_s8(values, WeightGranularity::kPerChannel);
  EmbeddingTable t;
  t.rows_ = values.dim(0);
  t.cols_ = values.dim(1);
  t.int8_ = true;
  t.q_ = std::move(w.q);
  t.scales_ = std::move(w.scales);
  return t;
}

EmbeddingTable EmbeddingTable::read_int8_rows(const std::string& name, int64_t rows, int64_t cols,
                                              const StoredTensorLookup& lookup, const std::string& file) {
  const auto get = [&](const std::string& tensor, DType dtype, const Shape& shape) -> const RawTensor& {
    const RawTensor* t = lookup(tensor);
    if (!t) throw FormatError(file + ": missing tensor '" + tensor + "' (the container stores embeddings as int8-rows)");
    if (t->dtype != dtype)
      throw FormatError(file + ": tensor '" + tensor + "': embeddings stored as int8-rows, expected dtype " +
                        std::string(dtype_name(dtype)) + ", found " + std::string(dtype_name(t->dtype)));
    if (t->shape != shape)
      throw FormatError(file + ": tensor '" + tensor + "': expected shape " + shape_str(shape) + ", found " +
                        shape_str(t->shape));
    return *t;
  };
  const RawTensor& q = get(name + ".weight", DType::kI8, {rows, cols});
  const RawTensor& s = get(name + ".weight_scale", DType::kF32, {rows});
  EmbeddingTable t;
  t.rows_ = rows;
  t.cols_ = cols;
  t.int8_ = true;
  t.q_.resize(static_cast<size_t>(rows * cols));
  std::memcpy(t.q_.data(), q.data, t.q_.size());
  t.scales_.resize(static_cast<size_t>(rows));
  std::memcpy(t.scales_.data(), s.data, t.scales_.size() * sizeof(float));
  for (int64_t r = 0; r < rows; ++r)
    if (!std::isfinite(t.scales_[static_cast<size_t>(r)]) || t.scales_[static_cast<size_t>(r)] <= 0)
      throw FormatError(file + ": tensor '" + name + ".weight_scale': row " + std::to_string(r) + " has scale " +
                        std::to_string(t.scales_[static_cast<size_t>(r)]) + ", not a positive number");
  return t;
}

int64_t EmbeddingTable::bytes() const {
  return int8_ ? numel() + rows_ * static_cast<int64_t>(sizeof(float)) : numel() * static_cast<int64_t>(sizeof(float));
}

void EmbeddingTable::add_row(int64_t r, float* out) const {
  if (!int8_) {
    const float* row = values_.data() + r * cols_;
    for (int64_t i = 0; i < cols_; ++i) out[i] += row[i];
    return;
  }
  const int8_t* row = q_.data() + r * cols_;
  const float scale = scales_[static_cast<size_t>(r)];
  for (int64_t i = 0; i < cols_; ++i) out[i] += scale * static_cast<float>(row[i]);
}

Tensor EmbeddingTable::dequantize() const {
  if (!int8_) return values_;
  return dequantize_weights_s8({q_, scales_}, rows_, cols_);
}

std::vector<TensorToWrite> EmbeddingTable::stored(const std::string& name) const {
  if (!int8_) return {tensor_to_write_lossless(name + ".weight", values_)};
  return {array_to_write(name + ".weight", DType::kI8, {rows_, cols_}, q_.data()),
          array_to_write(name + ".weight_scale", DType::kF32, {rows_}, scales_.data())};
}

}  // namespace squish
