// A lookup table [V, H] read one row per token: fp32, or int8 per row ("int8-rows",
// --quantize_embeddings), each row symmetric with its own scale and dequantized on gather. Word
// embeddings are half of MiniLM's parameters, and a gather touches one row per token, so int8 rows
// cost nothing in speed and quarter the table.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"
#include "io/safetensors_writer.h"
#include "model/common/linear_formats.h"

namespace squish {

class EmbeddingTable {
 public:
  EmbeddingTable() = default;
  static EmbeddingTable dense(Tensor values);
  // Each row quantized symmetrically with scale max|row| / 127.
  static EmbeddingTable int8_rows(const Tensor& values);
  // The stored form of a squish container: `name` + ".weight" I8 [rows, cols] and ".weight_scale"
  // F32 [rows] (FormatError naming `file` and the tensor otherwise).
  static EmbeddingTable read_int8_rows(const std::string& name, int64_t rows, int64_t cols,
                                       const StoredTensorLookup& lookup, const std::string& file);

  std::string_view format() const { return int8_ ? "int8-rows" : "f32"; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t numel() const { return rows_ * cols_; }
  int64_t bytes() const;
  // out[0, cols) += row r (dequantized).
  void add_row(int64_t r, float* out) const;
  Tensor dequantize() const;
  // The tensors a container stores for it under `name` (".weight", and ".weight_scale" for int8).
  std::vector<TensorToWrite> stored(const std::string& name) const;

 private:
  int64_t rows_ = 0, cols_ = 0;
  bool int8_ = false;
  Tensor values_;               // f32
  std::vector<int8_t> q_;       // int8-rows
  std::vector<float> scales_;   // int8-rows, per row
};

}  // namespace squish
