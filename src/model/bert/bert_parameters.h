// A BERT classifier's weights as trainable parameters (model/common/parameter_buffer.h), and the
// way back: read out of a loaded BertModel (every Linear dequantized, Q|K|V kept fused as the model
// holds them), written back into it as dense fp32 Linears for evaluation and saving. Per-layer
// sizes follow the config (structured pruning changes heads and FFN neurons per layer).
#pragma once

#include <string>
#include <vector>

#include "model/bert/bert_weights.h"
#include "model/common/parameter_buffer.h"

namespace squish {

// Indices into the layout, per tensor of the model.
struct BertLayerParameterIds {
  int qkv_weight, qkv_bias;                    // [3·NH_l·HD, H], [3·NH_l·HD]
  int attention_out_weight, attention_out_bias;  // [H, NH_l·HD], [H]
  int attention_ln_gamma, attention_ln_beta;     // [H]
  int intermediate_weight, intermediate_bias;    // [FF_l, H], [FF_l]
  int output_weight, output_bias;                // [H, FF_l], [H]
  int output_ln_gamma, output_ln_beta;           // [H]
};

struct BertParameterIds {
  int word_embeddings, position_embeddings, token_type_embeddings;  // [V, H], [P, H], [TV, H]
  int embeddings_ln_gamma, embeddings_ln_beta;                      // [H]
  std::vector<BertLayerParameterIds> layers;                        // L
  int pooler_weight, pooler_bias;                                   // [H, H], [H]
  int classifier_weight, classifier_bias;                           // [C, H], [C]
};

struct BertParameters {
  BertConfig config;
  BertParameterIds ids;
  ParameterBuffer values;
};

// The layout of a classifier with `config`'s sizes, tensors named after the model's Linears.
std::shared_ptr<const ParameterLayout> bert_parameter_layout(const BertConfig& config, BertParameterIds& ids);

// The model's weights as parameters. ConfigError unless it has a pooler and a classifier
// (train/classifier_head.h gives an encoder one first).
BertParameters bert_parameters(const BertModel& model);
// The model `p` holds, for evaluation and saving: every Linear dense fp32 (Q|K|V fused, its parts
// the query, key and value modules), the word embeddings an f32 table. `source` names it in messages.
BertModel bert_model(const BertParameters& p, std::string source);

}  // namespace squish
