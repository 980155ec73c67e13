// The BERT forward pass as an explicit layer loop over kernel calls (post-LN, as in the original
// BERT: x = LN(x + Attention(x)); x = LN(x + FFN(x))), ending in the tanh pooler and classifier.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/tensor.h"
#include "model/bert/bert_weights.h"
#include "model/common/forward_options.h"
#include "model/common/token_batch.h"

namespace squish {

// Scratch of one forward. Buffers grow to the largest batch seen and are reused; never pinned to
// the first shape.
struct BertActivations {
  AlignedVector<float> hidden;        // [B*T, H]
  AlignedVector<float> qkv;           // [B*T, 3A], A = the widest layer's NH_l·HD (H unless pruned)
  AlignedVector<float> context;       // [B*T, A]
  AlignedVector<float> selected_context;  // [rows, A] the context of the rows bert_run_layer_rows computes
  AlignedVector<float> intermediate;  // [B*T, FF], the widest layer's FF_l
  AlignedVector<float> attention;     // attention_workspace_floats(): one sequence's [NH, T, T] scores
  AlignedVector<uint8_t> attention_int8;  // attention_int8_workspace_bytes(), for an int8-attention model
  AlignedVector<float> cls;           // [B, H]
  AlignedVector<float> pooled;        // [B, H]
  AlignedVector<float> tap_input;     // a Linear's input copied for a replacing Tap
  LinearWorkspace linear;             // the Linears' own scratch
};

TokenLimits bert_token_limits(const BertConfig& config);

// logits: [B, C] row-major. The model must have a classification head (ConfigError otherwise).
// Checks the batch against the model first (ShapeError naming the first bad id or length).
void bert_forward(const BertModel& model, const TokenBatch& batch, BertActivations& act, std::vector<float>& logits,
                  const ForwardOptions& options = {});

// The encoder in parts, for analyses that rerun the stack from a captured state (sensitivity):
// bert_embed leaves the embeddings' output in act.hidden [B*T, H]; bert_run_layers applies layers
// [first, end) to act.hidden in place, every token computed. Together they give exactly the hidden
// states bert_forward computes with LastLayerRows::kAllTokens.
void bert_embed(const BertModel& model, const TokenBatch& batch, BertActivations& act);
void bert_run_layers(const BertModel& model, const TokenBatch& batch, BertActivations& act, int first, int end,
                     const Tap* tap = nullptr);
// Layer `layer` on act.hidden (left unchanged) for the given rows of its output alone
// (SequenceModel::run_layer_rows): attention over every token, the rest on the rows.
void bert_run_layer_rows(const BertModel& model, const TokenBatch& batch, BertActivations& act, int layer,
                         std::span<const int64_t> rows, AlignedVector<float>& out);

// The floating-point operations bert_forward executes for B sequences of T tokens: the one FLOP
// model bench, tests and the end-to-end script read (multiply-adds count 2; LayerNorm, softmax
// and GELU are left out, as every engine's GFLOP/s figure does).
double bert_forward_flops(const BertConfig& config, int64_t batch, int64_t tokens, LastLayerRows last_layer);

}  // namespace squish
