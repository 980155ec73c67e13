// The registry of weight containers: a file's format is told by its first bytes, not its name,
// so a renamed file, squish's own container (a safetensors file whose metadata says so) or a
// sharded checkpoint load like any other, and an unknown file gets an error saying what it is.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace squish {

enum class WeightsFormat {
  kSafetensors,   // 8-byte little-endian header length, then a JSON object
  kTorchZip,      // "PK\x03\x04": torch.save since 1.6
  kLegacyPickle,  // 0x80: torch.save's pre-1.6 pickle, refused
  kGguf,          // "GGUF": llama.cpp's container, tensors dequantized to F32 (io/gguf.h)
  kUnknown,
};

// Reads the first bytes of `path`; IoError when it cannot be opened.
WeightsFormat detect_weights_format(const std::string& path);

struct WeightsFile {
  std::vector<std::string> paths;              // one file, or every shard
  std::string format;                          // "safetensors", "torch-zip", "gguf"
  TensorMap tensors;
  // safetensors __metadata__ (and a shard index's "metadata"); a GGUF's key/values that are not arrays
  // (strings as themselves, numbers and bools in JSON).
  std::map<std::string, std::string> metadata;
  int64_t file_bytes = 0;                      // on disk, shards added up
};

// One weights file of any known format, or a shard index ("*.index.json": its weight_map's files).
// A GGUF file's tensors come back dequantized to F32 under their GGUF names, in GGUF's row-major shape.
// FormatError naming the file for an unknown or legacy format, a tensor missing from its shard,
// a tensor stored in two shards, or a GGUF tensor of a type squish cannot dequantize.
WeightsFile read_weights_file(const std::string& path);

// The weights file of a HF model directory: model.safetensors, model.safetensors.index.json,
// pytorch_model.bin or pytorch_model.bin.index.json, in that order; IoError listing them if none.
std::string find_weights_file(const std::string& model_dir);
// The same, or nothing when the directory holds no weights.
std::optional<std::string> weights_file_in(const std::string& model_dir);

}  // namespace squish
