#include "model/bert/bert_tensor_table.h"

#include "core/error.h"

namespace squish {
namespace {

using D = BertDim;
using S = BertScope;
using W = BertWeights;
using LW = BertLayerWeights;
constexpr LinearParam kW = LinearParam::kWeight, kB = LinearParam::kBias;

// clang-format off
constexpr BertTensorInfo kTensors[] = {
  {.pattern = "embeddings.word_embeddings.weight",       .scope = S::kEmbeddings, .rows = D::kVocab,     .cols = D::kHidden, .is_vector = false, .embedding = &W::word_embeddings},
  {.pattern = "embeddings.position_embeddings.weight",   .scope = S::kEmbeddings, .rows = D::kPositions, .cols = D::kHidden, .is_vector = false, .tensor = &W::position_embeddings},
  {.pattern = "embeddings.token_type_embeddings.weight", .scope = S::kEmbeddings, .rows = D::kTypes,     .cols = D::kHidden, .is_vector = false, .tensor = &W::token_type_embeddings},
  {.pattern = "embeddings.LayerNorm.weight",             .scope = S::kEmbeddings, .rows = D::kHidden,    .cols = D::kHidden, .is_vector = true,  .tensor = &W::embeddings_ln_gamma},
  {.pattern = "embeddings.LayerNorm.bias",               .scope = S::kEmbeddings, .rows = D::kHidden,    .cols = D::kHidden, .is_vector = true,  .tensor = &W::embeddings_ln_beta},
  {.pattern = "encoder.layer.{i}.attention.self.query.weight",       .scope = S::kLayer, .rows = D::kAttention, .cols = D::kHidden, .is_vector = false, .layer_linear = &LW::qkv, .part = 0, .param = kW},
  {.pattern = "encoder.layer.{i}.attention.self.query.bias",         .scope = S::kLayer, .rows = D::kAttention, .cols = D::kHidden, .is_vector = true,  .layer_linear = &LW::qkv, .part = 0, .param = kB},
  {.pattern = "encoder.layer.{i}.attention.self.key.weight",         .scope = S::kLayer, .rows = D::kAttention, .cols = D::kHidden, .is_vector = false, .layer_linear = &LW::qkv, .part = 1, .param = kW},
  {.pattern = "encoder.layer.{i}.attention.self.key.bias",           .scope = S::kLayer, .rows = D::kAttention, .cols = D::kHidden, .is_vector = true,  .layer_linear = &LW::qkv, .part = 1, .param = kB},
  {.pattern = "encoder.layer.{i}.attention.self.value.weight",       .scope = S::kLayer, .rows = D::kAttention, .cols = D::kHidden, .is_vector = false, .layer_linear = &LW::qkv, .part = 2, .param = kW},
  {.pattern = "encoder.layer.{i}.attention.self.value.bias",         .scope = S::kLayer, .rows = D::kAttention, .cols = D::kHidden, .is_vector = true,  .layer_linear = &LW::qkv, .part = 2, .param = kB},
  {.pattern = "encoder.layer.{i}.attention.output.dense.weight",     .scope = S::kLayer, .rows = D::kHidden, .cols = D::kAttention, .is_vector = false, .layer_linear = &LW::attention_out, .param = kW},
  {.pattern = "encoder.layer.{i}.attention.output.dense.bias",       .scope = S::kLayer, .rows = D::kHidden, .cols = D::kHidden, .is_vector = true,  .layer_linear = &LW::attention_out, .param = kB},
  {.pattern = "encoder.layer.{i}.attention.output.LayerNorm.weight", .scope = S::kLayer, .rows = D::kHidden, .cols = D::kHidden, .is_vector = true,  .layer_tensor = &LW::attention_ln_gamma},
  {.pattern = "encoder.layer.{i}.attention.output.LayerNorm.bias",   .scope = S::kLayer, .rows = D::kHidden, .cols = D::kHidden, .is_vector = true,  .layer_tensor = &LW::attention_ln_beta},
  {.pattern = "encoder.layer.{i}.intermediate.dense.weight",         .scope = S::kLayer, .rows = D::kFf,     .cols = D::kHidden, .is_vector = false, .layer_linear = &LW::intermediate, .param = kW},
  {.pattern = "encoder.layer.{i}.intermediate.dense.bias",           .scope = S::kLayer, .rows = D::kFf,     .cols = D::kHidden, .is_vector = true,  .layer_linear = &LW::intermediate, .param = kB},
  {.pattern = "encoder.layer.{i}.output.dense.weight",               .scope = S::kLayer, .rows = D::kHidden, .cols = D::kFf,     .is_vector = false, .layer_linear = &LW::output, .param = kW},
  {.pattern = "encoder.layer.{i}.output.dense.bias",                 .scope = S::kLayer, .rows = D::kHidden, .cols = D::kFf,     .is_vector = true,  .layer_linear = &LW::output, .param = kB},
  {.pattern = "encoder.layer.{i}.output.LayerNorm.weight",           .scope = S::kLayer, .rows = D::kHidden, .cols = D::kHidden, .is_vector = true,  .layer_tensor = &LW::output_ln_gamma},
  {.pattern = "encoder.layer.{i}.output.LayerNorm.bias",             .scope = S::kLayer, .rows = D::kHidden, .cols = D::kHidden, .is_vector = true,  .layer_tensor = &LW::output_ln_beta},
  {.pattern = "pooler.dense.weight", .scope = S::kPooler,     .rows = D::kHidden, .cols = D::kHidden, .is_vector = false, .linear = &W::pooler, .param = kW},
  {.pattern = "pooler.dense.bias",   .scope = S::kPooler,     .rows = D::kHidden, .cols = D::kHidden, .is_vector = true,  .linear = &W::pooler, .param = kB},
  {.pattern = "classifier.weight",   .scope = S::kClassifier, .rows = D::kLabels, .cols = D::kHidden, .is_vector = false, .linear = &W::classifier, .param = kW},
  {.pattern = "classifier.bias",     .scope = S::kClassifier, .rows = D::kLabels, .cols = D::kHidden, .is_vector = true,  .linear = &W::classifier, .param = kB},
};

constexpr BertLinearInfo kLinears[] = {
  {.name = "encoder.layer.{i}.attention.self.qkv",     .role = LinearRole::kAttentionQkv, .scope = S::kLayer, .layer_linear = &LW::qkv},
  {.name = "encoder.layer.{i}.attention.output.dense", .role = LinearRole::kAttentionOut, .scope = S::kLayer, .layer_linear = &LW::attention_out},
  {.name = "encoder.layer.{i}.intermediate.dense",     .role = LinearRole::kFfnIn,        .scope = S::kLayer, .layer_linear = &LW::intermediate},
  {.name = "encoder.layer.{i}.output.dense",           .role = LinearRole::kFfnOut,       .scope = S::kLayer, .layer_linear = &LW::output},
  {.name = "pooler.dense",                             .role = LinearRole::kPooler,       .scope = S::kPooler, .linear = &W::pooler},
  {.name = "classifier",                               .role = LinearRole::kClassifier,   .scope = S::kClassifier, .linear = &W::classifier},
};
// clang-format on

// Layer dimensions (kAttention, kFf) are that layer's: structured pruning makes them differ.
int64_t dim_size(BertDim d, const BertConfig& c, int layer) {
  switch (d) {
    case D::kVocab: return c.vocab_size;
    case D::kPositions: return c.max_position_embeddings;
    case D::kTypes: return c.type_vocab_size;
    case D::kHidden: return c.hidden_size;
    case D::kAttention: return c.heads_in(layer) * c.head_dim();
    case D::kFf: return c.intermediate_size_in(layer);
    case D::kLabels: return c.num_labels;
  }
  throw Error(ExitCode::kInternal, "unknown BERT dimension");
}

}  // namespace

std::span<const BertTensorInfo> bert_tensor_table() { return kTensors; }
std::span<const BertLinearInfo> bert_linear_table() { return kLinears; }

std::string bert_tensor_name(std::string_view pattern, int layer) {
  std::string name(pattern);
  if (const size_t pos = name.find("{i}"); pos != std::string::npos) name.replace(pos, 3, std::to_string(layer));
  return name;
}

Shape bert_tensor_shape(const BertTensorInfo& info, const BertConfig& c, int layer) {
  if (info.is_vector) return {dim_size(info.rows, c, layer)};
  return {dim_size(info.rows, c, layer), dim_size(info.cols, c, layer)};
}

bool bert_tensor_has_prefix(BertScope scope) { return scope != BertScope::kClassifier; }

}  // namespace squish
