// From checkpoints to a LlamaModel and back. One name table (HF name, GGUF name, shape) is the only
// place the tensor names live: loading from HF safetensors or torch zip walks it by HF name, loading
// from GGUF by llama.cpp's name (Q and K rows un-permuted from llama.cpp's interleaved rotary order
// to HF's rotate-half order, as transformers does when it reads a GGUF), and export walks it back.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/safetensors_writer.h"
#include "model/common/linear_formats.h"
#include "model/llama/llama_weights.h"

namespace squish {

struct GgufFile;

// Binds HF-named tensors; ShapeError/FormatError naming `file` and the tensor. `unused`, when
// given, receives the stored names the architecture did not take. A missing lm_head.weight is a
// tied head only when the config says tie_word_embeddings. With `plan` (a squish container), each
// Linear and the embedding table are read in their planned formats.
LlamaModel llama_from_tensors(const LlamaConfig& config, const TensorMap& tensors, const std::string& file,
                              std::vector<std::string>* unused = nullptr, const ContainerPlan* plan = nullptr);
// Every tensor of a llama GGUF dequantized to fp32 (the config from its metadata); a GGUF without
// output.weight has a tied head, as llama.cpp reads it.
LlamaModel llama_from_gguf(const GgufFile& gguf, std::vector<std::string>* unused = nullptr);
// Normal(0, 0.02) weights, RMSNorm weights 1 (HF's init); deterministic for a seed.
LlamaModel random_llama(const LlamaConfig& config, uint64_t seed);

// llama.cpp's row order of a Q or K projection from HF's: within each head, row 2i + s of the
// GGUF is row s·HD/2 + i of HF (and un_permute_rotary_rows inverts it).
Tensor permute_rotary_rows(const Tensor& hf, int64_t heads);
Tensor un_permute_rotary_rows(const Tensor& gguf, int64_t heads);

// Every tensor under its HF name, in the layout transformers loads, as F32 or F16; Linears dequantized.
std::vector<TensorToWrite> llama_checkpoint_tensors(const LlamaModel& model, DType dtype);
// The same names for squish's container: each Linear module in its own format's tensors, the
// norms lossless (docs/formats.md).
std::vector<TensorToWrite> llama_container_tensors(const LlamaModel& model);

}  // namespace squish
