// The OPT forward pass as an explicit layer loop over kernel calls (pre-LayerNorm:
// x = x + out_proj(Attention(LN(x))); x = x + fc2(relu(fc1(LN(x))))), starting from token plus
// learned position embeddings and ending in the final LayerNorm and the LM head on the rows whose
// next token is asked for.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/tensor.h"
#include "model/common/causal_lm_head.h"
#include "model/common/causal_self_attention.h"
#include "model/common/sequence_model.h"
#include "model/common/tap.h"
#include "model/common/token_batch.h"
#include "model/opt/opt_weights.h"

namespace squish {

// Scratch of one forward, grown to the largest batch seen and reused.
struct OptActivations {
  AlignedVector<float> hidden;        // [B*T, H] the residual stream
  AlignedVector<float> normed;        // [B*T, H] its LayerNorm, the input of the next Linear
  AlignedVector<float> qkv;           // [B*T, 3H]
  AlignedVector<float> context;       // [B*T, H]
  AlignedVector<float> selected_context;  // [rows, H] the context of the rows opt_run_layer_rows computes
  AlignedVector<float> intermediate;  // [B*T, FF] relu(fc1)
  CausalAttentionScratch attention;
  std::vector<int32_t> positions;     // [B*T] position of each token (before HF's offset of 2)
  AlignedVector<float> tap_input;     // a Linear's input copied for a replacing Tap
  AlignedVector<float> head_rows;     // [targets, H] final-normed rows the head reads
  CausalLmHeadScratch head;
  LinearWorkspace linear;
};

TokenLimits opt_token_limits(const OptConfig& config);

// The final norm on `rows` last-layer hidden states [rows, H], in place (the LM head's input).
void opt_final_norm(const OptModel& model, float* hidden, int64_t rows);
// log p(target) for each target (SequenceModel::target_logprobs). The Tap sees the embeddings, every
// Linear's input and every layer's output, all tokens.
void opt_target_logprobs(const OptModel& model, const TokenBatch& batch, const std::vector<LogprobTarget>& targets,
                         OptActivations& act, std::vector<double>& logprobs, const Tap* tap = nullptr);

// SequenceModel::trace: embeddings and every layer for the Tap, and an untied head's input.
void opt_trace(const OptModel& model, const TokenBatch& batch, OptActivations& act, const Tap* tap);

// The decoder in parts (SequenceModel::embed / run_layers): embeddings into act.hidden, then
// layers [first, end) in place.
void opt_embed(const OptModel& model, const TokenBatch& batch, OptActivations& act);
void opt_run_layers(const OptModel& model, const TokenBatch& batch, OptActivations& act, int first, int end,
                    const Tap* tap = nullptr);
// Layer `layer` on act.hidden (left unchanged) for the given rows of its output alone
// (SequenceModel::run_layer_rows): attention over every token, the rest on the rows.
void opt_run_layer_rows(const OptModel& model, const TokenBatch& batch, OptActivations& act, int layer,
                        std::span<const int64_t> rows, AlignedVector<float>& out);

// Floating-point operations of a forward of B sequences of T tokens with `head_rows` rows through
// the LM head (multiply-adds count 2; LayerNorms, softmax and ReLU left out).
double opt_forward_flops(const OptConfig& config, int64_t batch, int64_t tokens, int64_t head_rows);

}  // namespace squish
