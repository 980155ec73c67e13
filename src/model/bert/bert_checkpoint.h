// From a HF model directory to a BertModel: config.json, then weights from model.safetensors
// (preferred, memory-mapped) or pytorch_model.bin, bound to the weight structs through one table
// of HF tensor names and expected shapes (bert_checkpoint.cpp). Name variants accepted: with or
// without the "bert." prefix, LayerNorm.weight/bias or the older LayerNorm.gamma/beta.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "model/bert/bert_weights.h"

namespace squish {

// The weights file squish reads in a model directory; IoError listing what it looked for if none.
std::string find_weights_file(const std::string& model_dir);

BertModel load_bert_model(const std::string& model_dir);

// The tensors of a weights file, by its name: *.safetensors, else a PyTorch zip checkpoint.
TensorMap read_weights_file(const std::string& path);

// Binds named tensors to a BertModel. `file` is named in errors: a missing tensor, a wrong shape
// ("tensor X: expected [768, 768], found [768, 3072] in model.safetensors") or a non-float dtype.
// `unused`, when given, receives the stored names the architecture did not take.
BertModel bert_from_tensors(const BertConfig& config, const TensorMap& tensors, const std::string& file,
                            std::vector<std::string>* unused = nullptr);

// Random weights of the right shapes (normal, std 0.02 like HF's init; LayerNorm 1/0), for
// benchmarks and shape tests. Deterministic for a seed.
BertModel random_bert(const BertConfig& config, uint64_t seed);

}  // namespace squish
