// Reader for llama.cpp's GGUF files (versions 2 and 3, little-endian), written for untrusted files like
// the other checkpoint readers: every count, dimension, string length and offset is checked against the
// file's size with overflow-safe arithmetic before it is used, and any inconsistency is a FormatError
// naming the file and the key or tensor. The file is memory-mapped; tensors point into the map.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"
#include "io/ggml_dequantize.h"

namespace squish {

struct GgufTensor {
  std::string name;
  GgmlType type = GgmlType::kF32;
  // Row-major, as PyTorch and HF see the tensor: ggml's ne[] reversed, so a Linear weight is [out, in] and
  // the last dimension is the one ggml's blocks run along.
  Shape shape;
  const uint8_t* data = nullptr;  // aligned to the file's alignment within the map
  size_t nbytes = 0;
};

struct GgufFile {
  std::string path;
  uint32_t version = 0;
  // Every key/value, by key. Integers, floats (float32 widened exactly) and bools are JSON numbers
  // and booleans, strings are strings (the file's bytes, not checked to be UTF-8: dump them with
  // nlohmann's error_handler_t::replace), arrays are arrays (nested ones included).
  nlohmann::json metadata = nlohmann::json::object();
  std::vector<GgufTensor> tensors;  // in file order
  uint64_t alignment = 32;          // general.alignment, else GGUF's default
  int64_t file_bytes = 0;
  std::shared_ptr<const void> owner;  // keeps every tensor's data mapped

  // The tensor of that name, or null.
  const GgufTensor* find(std::string_view name) const;
};

// Throws IoError when the file cannot be opened, FormatError when its bytes are not a valid GGUF file:
// bad magic, a version other than 2 or 3, truncation anywhere, counts or lengths beyond the file,
// a value type or ggml type that does not exist, a repeated key or tensor name, more than 4 dimensions,
// an element count or byte size overflowing 64 bits, a row that is not whole blocks, a tensor offset not
// a multiple of the alignment or reaching past the end, two tensors sharing bytes, general.alignment
// not a power-of-two uint32.
GgufFile read_gguf(const std::string& path);

// Whether the file starts with GGUF's magic "GGUF"; IoError when it cannot be opened.
bool is_gguf_file(const std::string& path);

// The tensor in fp32, shape t.shape. FormatError naming the tensor for a type squish cannot convert
// (see dequantizable_ggml_types()) or a last dimension that is not whole blocks.
Tensor dequantize_gguf_tensor(const GgufTensor& t);

}  // namespace squish
