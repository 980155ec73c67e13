#include "model/common/embedding_table.h"

#include <cstring>

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
  const StoredTensorReader reader(lookup, file, "int8-rows");
  const RawTensor& q = reader.get(name + ".weight", DType::kI8, {rows, cols});
  const std::string scale_name = name + ".weight_scale";
  const RawTensor& s = reader.get(scale_name, DType::kF32, {rows});
  EmbeddingTable t;
  t.rows_ = rows;
  t.cols_ = cols;
  t.int8_ = true;
  t.q_.resize(static_cast<size_t>(rows * cols));
  std::memcpy(t.q_.data(), q.data, t.q_.size());
  t.scales_.resize(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) t.scales_[static_cast<size_t>(r)] = reader.scale_at(s, r, scale_name);
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
