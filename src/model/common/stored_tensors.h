// The tensors a model writes, under their HF names, for either destination: a HF checkpoint (every
// weight as fp32 or fp16 values, Linears dequantized: squish export) or squish's own container
// (each Linear in its representation's stored form, other tensors lossless: docs/formats.md). Each
// architecture walks its own name table and hands every tensor here, so the two destinations are
// written once for all of them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/safetensors_writer.h"
#include "model/common/embedding_table.h"
#include "model/common/linear.h"

namespace squish {

class StoredTensors {
 public:
  enum class Kind { kCheckpoint, kContainer };
  // dtype: the checkpoint's float type (F32 or F16); the container ignores it.
  explicit StoredTensors(Kind kind, DType dtype = DType::kF32) : kind_(kind), dtype_(dtype) {}

  void tensor(const std::string& name, const Tensor& t);
  // Output rows [first_row, first_row + rows) of `linear`'s weights as the HF module `module`.
  void linear_part(const std::string& module, const Linear& linear, int64_t first_row, int64_t rows);
  // Every part of `linear`, each with its bias rows as "<module>.bias" when the Linear has a bias.
  void linear(const Linear& linear);
  void table(const std::string& module, const EmbeddingTable& table);

  std::vector<TensorToWrite> take() { return std::move(out_); }

 private:
  Kind kind_;
  DType dtype_;
  std::map<const Linear*, Tensor> dequantized_;  // a checkpoint's Linears, widened once per Linear
  std::vector<TensorToWrite> out_;
};

}  // namespace squish
