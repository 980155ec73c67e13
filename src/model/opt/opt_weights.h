// The weights of an OPT decoder as plain structs. Q, K and V are fused into one Linear with its
// bias (one GEMM; the attention kernel reads head views out of its rows), keeping q_proj, k_proj
// and v_proj as parts so plans and exports still address each. The learned position table keeps
// HF's two leading rows, so it is stored and exported exactly as transformers holds it. A tied LM
// head (every published OPT) has no weights of its own: it reads the token embedding table.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "model/common/attention_arithmetic.h"
#include "model/common/embedding_table.h"
#include "model/common/linear.h"
#include "model/opt/opt_config.h"

namespace squish {

struct OptLayerNorm {
  Tensor weight, bias;  // [H]
};

struct OptLayerWeights {
  OptLayerNorm attention_norm;  // self_attn_layer_norm, before attention
  Linear qkv;                   // [3H, H]: q_proj | k_proj | v_proj
  Linear attention_out;         // [H, H] out_proj
  OptLayerNorm ffn_norm;        // final_layer_norm (of the layer), before the feed-forward
  Linear fc1;                   // [FF, H], ReLU
  Linear fc2;                   // [H, FF]
};

struct OptWeights {
  EmbeddingTable embed_tokens;  // [V, H]
  Tensor embed_positions;       // [max_position_embeddings + 2, H]; position p reads row p + 2
  std::vector<OptLayerWeights> layers;
  OptLayerNorm final_norm;  // decoder.final_layer_norm
  Linear lm_head;           // [V, H] without bias, only when the config unties it
};

struct OptModel {
  OptConfig config;
  OptWeights weights;
  AttentionArithmetic attention = AttentionArithmetic::kFp32;  // its products' arithmetic (kernels/attention_int8.h)
  std::string source;  // the file the weights came from ("random" for generated ones)

  std::vector<const Linear*> linears() const;
  std::vector<Linear*> mutable_linears();
  int64_t resident_bytes() const;
};

}  // namespace squish
