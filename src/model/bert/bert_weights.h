// The weights of a BERT encoder with an optional pooler and sequence-classification head, as plain
// structs. Q, K and V are fused into one [3H, H] Linear at load time (one GEMM instead of three;
// the attention kernel reads head views straight out of its [B, T, 3H] output); the Linear keeps
// the three HF modules as its parts, so plans and exports still address each.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "model/bert/bert_config.h"
#include "model/common/attention_arithmetic.h"
#include "model/common/embedding_table.h"
#include "model/common/linear.h"
#include "model/common/parameter_groups.h"

namespace squish {

// A = NH_l·HD and FF_l are the layer's own sizes (config.heads_in / intermediate_size_in): H and FF
// unless structured pruning removed heads or neurons; HD stays H / num_attention_heads.
struct BertLayerWeights {
  Linear qkv;              // [3A, H]: rows 0..A-1 query, A..2A-1 key, 2A..3A-1 value (head h: rows h·HD.. of each)
  Linear attention_out;    // [H, A]
  Tensor attention_ln_gamma, attention_ln_beta;  // [H]
  Linear intermediate;     // [FF_l, H]
  Linear output;           // [H, FF_l]
  Tensor output_ln_gamma, output_ln_beta;        // [H]
};

struct BertWeights {
  EmbeddingTable word_embeddings;  // [V, H]
  Tensor position_embeddings;    // [max_positions, H]
  Tensor token_type_embeddings;  // [type_vocab, H]
  Tensor embeddings_ln_gamma, embeddings_ln_beta;  // [H]
  std::vector<BertLayerWeights> layers;            // L
  bool has_pooler = false;       // classifiers always; encoders (BertModel) when the checkpoint stores one
  bool has_classifier = false;
  Linear pooler;      // [H, H], tanh
  Linear classifier;  // [C, H]
};

struct BertModel {
  BertConfig config;
  BertWeights weights;
  AttentionArithmetic attention = AttentionArithmetic::kFp32;  // its products' arithmetic (kernels/attention_int8.h)
  std::string source;  // the file the weights came from ("random" for generated ones)
  // Parameter counts of embeddings, attention, feed_forward, layer_norms (+ pooler, classifier).
  std::vector<std::pair<std::string, int64_t>> parameter_groups() const;
  int64_t parameter_count() const;
  // Every Linear in forward order.
  std::vector<const Linear*> linears() const;
  std::vector<Linear*> mutable_linears();
  // Bytes of every weight as held in memory (Linears in their representation, the rest fp32).
  int64_t resident_bytes() const;
};

}  // namespace squish
