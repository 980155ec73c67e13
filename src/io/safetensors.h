// Reader for HuggingFace .safetensors checkpoints, written for untrusted files: every length, count,
// offset and shape in the header is checked before it is used, and any inconsistency is a FormatError
// naming the file and the tensor. It is not a writer, and it does not convert dtypes (see core/dtype.h).
#pragma once

#include <map>
#include <string>

#include "core/tensor.h"

namespace squish {

// Memory-maps `path` and returns its tensors; their `data` points into the map (which `owner` keeps
// alive) and carries no alignment guarantee beyond one byte. Accepted dtypes: F32, F16, BF16, F64, I64,
// I32, I8, U8, BOOL. `__metadata__` (string -> string) is checked and, when `metadata` is given, returned there.
// The tensors must tile the data section exactly (no shared bytes, no hole, nothing before the first
// or after the last), as the format requires; zero-size tensors may sit at any offset inside it.
// Throws IoError when the file cannot be opened, FormatError when its bytes are not a valid safetensors file.
TensorMap read_safetensors(const std::string& path, std::map<std::string, std::string>* metadata = nullptr);

}  // namespace squish
