// The HF tensor names of a BERT checkpoint, their expected shapes and where each lives in
// BertWeights, as data (gemma.cpp's TensorInfo rows). bert_checkpoint.cpp walks the table forward
// to load a checkpoint and backward to save one; nothing else spells a tensor name.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/tensor.h"
#include "model/bert/bert_weights.h"

namespace squish {

enum class BertScope {
  kEmbeddings,  // once
  kLayer,       // once per encoder layer; "{i}" in the pattern is the layer index
  kPooler,      // classifiers always, encoders when stored
  kClassifier,  // *ForSequenceClassification only
};

// kAttention is a layer's NH_l·HD (its query, key or value rows; attention output's columns), kFf
// its FF_l; both equal the uniform sizes unless structured pruning removed heads or neurons.
enum class BertDim { kVocab, kPositions, kTypes, kHidden, kAttention, kFf, kLabels };
enum class LinearParam { kWeight, kBias };

struct BertTensorInfo {
  std::string_view pattern;  // HF name without the "bert." prefix
  BertScope scope;
  BertDim rows, cols;        // cols is ignored for vectors
  bool is_vector;
  // Exactly one target: a plain tensor, or one part (weight rows or bias) of a Linear.
  Tensor BertWeights::*tensor = nullptr;
  EmbeddingTable BertWeights::*embedding = nullptr;
  Tensor BertLayerWeights::*layer_tensor = nullptr;
  Linear BertWeights::*linear = nullptr;
  Linear BertLayerWeights::*layer_linear = nullptr;
  int part = 0;              // which part of a fused Linear, in row order
  LinearParam param = LinearParam::kWeight;
};

// Each Linear's identity: its name, role and scope; its parts are the table rows naming it.
struct BertLinearInfo {
  std::string_view name;  // "{i}" = layer index
  LinearRole role;
  BertScope scope;
  Linear BertWeights::*linear = nullptr;
  Linear BertLayerWeights::*layer_linear = nullptr;
};

std::span<const BertTensorInfo> bert_tensor_table();
std::span<const BertLinearInfo> bert_linear_table();

// The pattern with "{i}" replaced by the layer index.
std::string bert_tensor_name(std::string_view pattern, int layer);
// `layer` is the encoder layer of a kLayer row (its per-layer sizes), ignored for other scopes.
Shape bert_tensor_shape(const BertTensorInfo& info, const BertConfig& config, int layer);
// HF stores every tensor of a *ForSequenceClassification model under "bert." except the classifier's.
bool bert_tensor_has_prefix(BertScope scope);

}  // namespace squish
