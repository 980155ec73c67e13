// Writer of .safetensors files that HF safetensors and transformers load: a JSON header (tensors
// in name order, data offsets packed back to back, the header padded with spaces so the data
// starts on a 64-byte boundary; the reference writer pads to 8) and the raw little-endian bytes.
// Written to a temporary name and renamed (core/file_util.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace squish {

struct TensorToWrite {
  std::string name;
  DType dtype;     // F32 or F16 from fp32 values; other dtypes take `bytes` as they are
  Shape shape;
  std::string bytes;  // little-endian, exactly numel * dtype_size bytes
};

// The payload bytes of `tensors` (headers not counted).
int64_t payload_bytes(const std::vector<TensorToWrite>& tensors);

// The bytes of an fp32 tensor stored as F32 or F16 (rounded to nearest even).
TensorToWrite tensor_to_write(std::string name, const Tensor& t, DType dtype);
// As F16 when every value survives the round trip exactly (weights loaded from an F16 checkpoint),
// else F32: squish's own container never loses a bit and never doubles an F16 model's size.
TensorToWrite tensor_to_write_lossless(std::string name, const Tensor& t);
// Raw bytes of a plain array (int8 weights, scales, zero points) under a name.
template <class T>
TensorToWrite array_to_write(std::string name, DType dtype, Shape shape, const T* values) {
  std::string bytes(reinterpret_cast<const char*>(values), static_cast<size_t>(shape_numel(shape)) * sizeof(T));
  return {std::move(name), dtype, std::move(shape), std::move(bytes)};
}

// InternalError (exit 1) when a tensor's bytes disagree with its shape: a writer bug, not bad input.
std::string safetensors_bytes(const std::vector<TensorToWrite>& tensors, const std::map<std::string, std::string>& metadata);
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata);

}  // namespace squish
