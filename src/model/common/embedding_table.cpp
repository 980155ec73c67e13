#include "model/common/embedding_table.h"

#include <cstring>

#include "core/dtype.h"
#include "core/error.h"
#include "kernels/int8_scheme.h"
#include "model/common/int8_linear_weights.h"
#include "model/common/lowbit_linear_weights.h"
#include "model/common/lowbit_storage.h"

namespace squish {

EmbeddingTable EmbeddingTable::dense(Tensor values) {
  EmbeddingTable t;
  t.rows_ = values.dim(0);
  t.cols_ = values.dim(1);
  t.values_ = std::move(values);
  return t;
}

// oneDNN's packed layout of the dequantized table: the head's GEMM reads it contiguously (a
// transposed view of the table itself made oneDNN repack all of it on every call).
const LinearWeights& EmbeddingTable::projection() const {
  std::call_once(projection_->once, [&] {
    if (int8_head_)
      projection_->weights = std::make_shared<Int8LinearWeights>(Int8Weights{q_, scales_}, rows_, cols_,
                                                                 WeightGranularity::kPerChannel, std::nullopt);
    else
      projection_->weights = dense_f32_weights(dequantize());
  });
  return *projection_->weights;
}

void apply_tied_head_plan(const ContainerPlan& plan, bool tied, EmbeddingTable& table, const std::string& file) {
  if (!plan.int8_tied_head) return;
  if (!tied)
    throw FormatError(file + ": metadata '" + std::string(kTiedHeadKey) + "' on a model whose lm_head is its own");
  table.set_int8_head();
}

void EmbeddingTable::set_int8_head() {
  if (format_ != "int8-rows")
    throw ConfigError("an int8 LM head computes with an int8-rows embedding table, this one is " + format_ +
                      " (quantize it with --quantize_embeddings)");
  int8_head_ = true;
  projection_ = std::make_shared<Projection>();  // a new head, never the fp32 one made before
}

EmbeddingTable EmbeddingTable::quantized(const Tensor& values, std::string_view format) {
  check_embedding_format(format, "embedding table");
  if (format == "f32") return dense(values);
  EmbeddingTable t;
  t.rows_ = values.dim(0);
  t.cols_ = values.dim(1);
  t.format_ = std::string(format);
  if (format == "int8-rows") {
    Int8Weights w = quantize_weights_s8(values, WeightGranularity::kPerChannel);
    t.q_ = std::move(w.q);
    t.scales_ = std::move(w.scales);
  } else if (format == "f16") {
    return halves(round_to_f16(values), t.rows_, t.cols_);
  } else {
    const GroupFormat f = *parse_group_format(format);
    return groups(quantize_groups_rtn(values.data(), t.rows_, t.cols_, f.bits, f.group_size));
  }
  return t;
}

EmbeddingTable EmbeddingTable::groups(const GroupQuantized& q) {
  EmbeddingTable t;
  t.rows_ = q.n;
  t.cols_ = q.k;
  t.format_ = group_format_name({q.bits, q.group_size});
  t.groups_ = std::make_shared<PackedLowBitWeights>(PackedLowBitWeights::pack(q));
  return t;
}

EmbeddingTable EmbeddingTable::halves(const std::vector<uint16_t>& h, int64_t rows, int64_t cols) {
  EmbeddingTable t;
  t.rows_ = rows;
  t.cols_ = cols;
  t.format_ = "f16";
  t.halves_ = std::make_shared<const std::vector<uint16_t>>(h);
  return t;
}

EmbeddingTable EmbeddingTable::read(std::string_view format, const std::string& name, int64_t rows, int64_t cols,
                                    const StoredTensorLookup& lookup, const std::string& file) {
  check_embedding_format(format, file + ": embeddings '" + name + "'");
  const StoredTensorReader reader(lookup, file, format);
  const std::vector<LinearPart> whole = {{name, rows}};
  if (const auto f = parse_group_format(format)) return groups(read_groups(whole, cols, *f, reader));
  if (format == "f16") return halves(read_f16(whole, cols, reader), rows, cols);
  if (format != "int8-rows")
    throw FormatError(file + ": embeddings '" + name + "' stored as " + std::string(format) +
                      " need no plan entry (read as floats)");
  EmbeddingTable t;
  t.rows_ = rows;
  t.cols_ = cols;
  t.format_ = "int8-rows";
  const RawTensor& q = reader.get(name + ".weight", DType::kI8, {rows, cols});
  const std::string scale_name = name + ".weight_scale";
  const RawTensor& s = reader.get(scale_name, DType::kF32, {rows});
  t.q_.resize(static_cast<size_t>(rows * cols));
  std::memcpy(t.q_.data(), q.data, t.q_.size());
  t.scales_.resize(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) t.scales_[static_cast<size_t>(r)] = reader.scale_at(s, r, scale_name);
  return t;
}

int64_t EmbeddingTable::bytes() const {
  if (groups_) return groups_->bytes();
  if (halves_) return static_cast<int64_t>(halves_->size() * sizeof(uint16_t));
  if (!q_.empty()) return numel() + rows_ * static_cast<int64_t>(sizeof(float));
  return numel() * static_cast<int64_t>(sizeof(float));
}

void EmbeddingTable::add_row(int64_t r, float* out) const {
  if (groups_) return groups_->add_row(r, out);
  if (halves_) return add_f16_row(out, halves_->data() + r * cols_, cols_);
  if (!q_.empty()) {
    const int8_t* row = q_.data() + r * cols_;
    const float scale = scales_[static_cast<size_t>(r)];
    for (int64_t i = 0; i < cols_; ++i) out[i] += scale * static_cast<float>(row[i]);
    return;
  }
  const float* row = values_.data() + r * cols_;
  for (int64_t i = 0; i < cols_; ++i) out[i] += row[i];
}

Tensor EmbeddingTable::dequantize() const {
  if (format_ == "f32") return values_;
  if (!q_.empty()) return dequantize_weights_s8({q_, scales_}, rows_, cols_);
  Tensor out({rows_, cols_});
  for (int64_t r = 0; r < rows_; ++r) add_row(r, out.data() + r * cols_);  // out starts at zero
  return out;
}

std::vector<TensorToWrite> EmbeddingTable::stored(const std::string& name) const {
  std::vector<TensorToWrite> out;
  if (format_ == "f32") return {tensor_to_write_lossless(name + ".weight", values_)};
  if (!q_.empty())
    return {array_to_write(name + ".weight", DType::kI8, {rows_, cols_}, q_.data()),
            array_to_write(name + ".weight_scale", DType::kF32, {rows_}, scales_.data())};
  out = groups_ ? stored_groups(groups_->unpack(), 0, rows_) : stored_f16(*halves_, cols_, 0, rows_);
  for (TensorToWrite& t : out) t.name = name + t.name;
  return out;
}

int64_t embedding_stored_bytes(std::string_view format, int64_t rows, int64_t cols) {
  check_embedding_format(format, "embedding table");
  // int8-rows stores what an int8-dynamic Linear stores per channel: a byte a value and an F32 scale a row.
  const WeightFormat f = parse_weight_format(format == "int8-rows" ? "int8-dynamic" : format, "embedding table");
  return f.traits->stored_bytes(rows, cols, f.group_size);
}

}  // namespace squish
