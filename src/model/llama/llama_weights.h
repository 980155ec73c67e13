// The weights of a Llama-family decoder as plain structs. Q, K and V are fused into one Linear
// (one GEMM; the attention kernel reads head views out of its rows), and so are the gate and up
// projections of the SwiGLU feed-forward; each Linear keeps its HF modules as parts, so plans and
// exports still address q_proj, gate_proj, ... one by one. A tied LM head has no weights of its
// own: it reads the embedding table, so the two can never drift apart.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "kernels/rotary.h"
#include "model/common/attention_arithmetic.h"
#include "model/common/embedding_table.h"
#include "model/common/linear.h"
#include "model/llama/llama_config.h"

namespace squish {

struct LlamaLayerWeights {
  Tensor input_norm;           // [H] RMSNorm before attention
  Linear qkv;                  // [(NH + 2·NKV)·HD, H]: q_proj | k_proj | v_proj, HF's rotate-half row order
  Linear attention_out;        // [H, NH·HD] o_proj
  Tensor post_attention_norm;  // [H] RMSNorm before the feed-forward
  Linear gate_up;              // [2·FF, H]: gate_proj | up_proj
  Linear down;                 // [H, FF] down_proj
};

struct LlamaWeights {
  EmbeddingTable embed_tokens;  // [V, H]
  std::vector<LlamaLayerWeights> layers;
  Tensor final_norm;       // [H]
  bool tied_head = false;  // the LM head is embed_tokens itself
  Linear lm_head;          // [V, H], untied models only
};

struct LlamaModel {
  LlamaConfig config;
  LlamaWeights weights;
  RotaryTable rotary;  // cos/sin for every position the config allows
  AttentionArithmetic attention = AttentionArithmetic::kFp32;  // its products' arithmetic (kernels/attention_int8.h)
  std::string source;  // the file the weights came from ("random" for generated ones)

  std::vector<std::pair<std::string, int64_t>> parameter_groups() const;
  std::vector<const Linear*> linears() const;
  std::vector<Linear*> mutable_linears();
  int64_t resident_bytes() const;
};

}  // namespace squish
