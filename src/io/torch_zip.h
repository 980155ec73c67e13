// Reader for PyTorch zip checkpoints (torch.save since 1.6, e.g. HuggingFace pytorch_model.bin):
// "<archive>/data.pkl" is run through the restricted unpickler (io/unpickler.h: nothing is executed)
// and each tensor's bytes come from its "<archive>/data/<key>" record. It is not a general torch.load:
// the pickle must be a flat dict of name -> tensor (a state dict), and legacy non-zip pickles, TorchScript
// archives and big-endian checkpoints are refused with a FormatError saying so.
#pragma once

#include <string>

#include "core/tensor.h"

namespace squish {

// Returns the state dict's tensors, row-major. Each storage record is read once into a 64-byte aligned
// buffer; a contiguous tensor points into it at its storage offset (so tensors sharing a storage share
// bytes, and `data` is aligned only when the offset is), a strided view (transpose, slice) is gathered
// into a buffer of its own.
// Throws IoError when the file cannot be opened, FormatError for anything malformed or unsupported,
// naming the tensor where one is involved.
TensorMap read_torch_zip(const std::string& path);

}  // namespace squish
