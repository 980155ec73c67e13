// The hyper-parameters of a BERT encoder, as HF's config.json states them (BertConfig), plus the
// classification head's labels. Parsed and validated by io/hf_config.h; plain data here so io
// depends on this header alone.
#pragma once

#include <cstdint>
#include <map>
#include <string>

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

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  // Whether the checkpoint is expected to carry pooler + classifier weights.
  bool has_classifier() const { return is_sequence_classifier(architecture); }
};

}  // namespace squish
