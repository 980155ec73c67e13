// A lookup table [V, H] read one row per token, in one of the formats an embedding may take:
// fp32; fp16; int8 per row ("int8-rows", each row symmetric with its own scale); or 2/4-bit
// groups along H ("int4-g64", kernels/lowbit_scheme.h). Quantized rows are dequantized on gather.
// Word embeddings are half of MiniLM's parameters, and a gather touches one row per token, so a
// compact table costs next to nothing in speed.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"
#include "io/safetensors_writer.h"
#include "kernels/gemm_lowbit.h"
#include "model/common/linear_formats.h"

namespace squish {

class EmbeddingTable {
 public:
  EmbeddingTable() = default;
  static EmbeddingTable dense(Tensor values);
  // `values` in `format` (check_embedding_format's names), by round-to-nearest. For int8-rows
  // each row's scale is max|row| / 127.
  static EmbeddingTable quantized(const Tensor& values, std::string_view format);
  // A group format's table from already chosen codes (GPTQ or a reader).
  static EmbeddingTable groups(const GroupQuantized& q);
  // An f16 table from its fp16 bit patterns [rows, cols].
  static EmbeddingTable halves(const std::vector<uint16_t>& h, int64_t rows, int64_t cols);
  // The stored form of a squish container under `name` (docs/formats.md); FormatError naming
  // `file` and the tensor otherwise.
  static EmbeddingTable read(std::string_view format, const std::string& name, int64_t rows, int64_t cols,
                             const StoredTensorLookup& lookup, const std::string& file);

  const std::string& format() const { return format_; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t numel() const { return rows_ * cols_; }
  int64_t bytes() const;
  // out[0, cols) += row r (dequantized).
  void add_row(int64_t r, float* out) const;
  Tensor dequantize() const;
  // The table as the weights [V, H] of a Linear, for a tied LM head: made on first use and shared
  // by copies; a table given a new representation is a new object, so the head always computes
  // with the table as it is (the two never silently untie). Thread-safe.
  const LinearWeights& projection() const;
  // From now on the projection of an int8-rows table is its codes on the int8 GEMM, activations int8
  // per row at run time (what an int8-dynamic Linear computes), instead of its values in fp32: a
  // causal LM's tied head then runs as fast as its int8 layers. ConfigError for another format.
  void set_int8_head();
  bool int8_head() const { return int8_head_; }
  // The tensors a container stores for it under `name` (".weight", plus scales for quantized rows).
  std::vector<TensorToWrite> stored(const std::string& name) const;

 private:
  int64_t rows_ = 0, cols_ = 0;
  std::string format_ = "f32";
  Tensor values_;               // f32
  std::vector<int8_t> q_;       // int8-rows
  std::vector<float> scales_;   // int8-rows, per row
  std::shared_ptr<const std::vector<uint16_t>> halves_;  // f16, [rows, cols] row-major
  std::shared_ptr<const PackedLowBitWeights> groups_;
  bool int8_head_ = false;
  struct Projection {
    std::once_flag once;
    std::shared_ptr<const LinearWeights> weights;
  };
  std::shared_ptr<Projection> projection_ = std::make_shared<Projection>();
};

// A container's int8 tied head (ContainerPlan::int8_tied_head) on the table of the model it loads;
// FormatError naming `file` when the model's head is not tied.
void apply_tied_head_plan(const ContainerPlan& plan, bool tied, EmbeddingTable& table, const std::string& file);

// Bytes a container stores for a [rows, cols] table in `format` (f32 counted as 4 bytes a value).
int64_t embedding_stored_bytes(std::string_view format, int64_t rows, int64_t cols);

}  // namespace squish
