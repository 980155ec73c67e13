// The hyper-parameters of a BERT encoder, as HF's config.json states them (BertConfig), plus the
// classification head's labels. Parsed and validated by bert_config_file.h; plain data here.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/common/architecture_name.h"

namespace squish {

struct BertConfig {
  std::string architecture;  // "BertForSequenceClassification", "BertModel", "BertForMaskedLM", ...
  int64_t vocab_size = 30522;           // V
  int64_t hidden_size = 768;            // H
  int64_t num_hidden_layers = 12;       // L
  int64_t num_attention_heads = 12;     // NH; head dim HD = H / NH
  int64_t intermediate_size = 3072;     // FF
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;        // BERT's 1e-12, not PyTorch's default 1e-5 (as written; kernels take it as float)
  std::string hidden_act = "gelu";      // erf GELU; the only activation squish implements for BERT
  int64_t num_labels = 2;               // C
  std::map<int64_t, std::string> id2label;
  int64_t pad_token_id = 0;
  std::string finetuning_task;          // empty when config.json does not say
  // Dropout in training (inference ignores it). classifier_dropout < 0: null in config.json, which
  // HF reads as hidden_dropout_prob.
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  double classifier_dropout = -1.0;
  double initializer_range = 0.02;      // std of the normal a new Linear's weights are drawn from (HF _init_weights)
  // Per-layer sizes after structured pruning (prune/structured.h); empty means every layer has
  // num_attention_heads heads and intermediate_size neurons. config.json "squish_layer_sizes".
  std::vector<int64_t> layer_heads;
  std::vector<int64_t> layer_intermediate_sizes;

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  int64_t heads_in(int64_t layer) const {
    return layer_heads.empty() ? num_attention_heads : layer_heads.at(static_cast<size_t>(layer));
  }
  int64_t intermediate_size_in(int64_t layer) const {
    return layer_intermediate_sizes.empty() ? intermediate_size : layer_intermediate_sizes.at(static_cast<size_t>(layer));
  }
  double classifier_dropout_rate() const { return classifier_dropout < 0 ? hidden_dropout_prob : classifier_dropout; }
  // Whether the checkpoint is expected to carry pooler + classifier weights.
  bool has_classifier() const { return is_sequence_classifier(architecture); }
};

}  // namespace squish
