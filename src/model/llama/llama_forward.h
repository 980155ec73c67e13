// The Llama forward pass as an explicit layer loop over kernel calls (pre-norm:
// x = x + Attention(RMSNorm(x)); x = x + SwiGLU(RMSNorm(x))), ending in a final RMSNorm and the
// LM head on the rows whose next token is asked for.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/tensor.h"
#include "model/common/causal_lm_head.h"
#include "model/common/causal_self_attention.h"
#include "model/common/forward_options.h"
#include "model/common/sequence_model.h"
#include "model/common/token_batch.h"
#include "model/llama/llama_weights.h"

namespace squish {

// Scratch of one forward, grown to the largest batch seen and reused.
struct LlamaActivations {
  AlignedVector<float> hidden;        // [B*T, H] the residual stream
  AlignedVector<float> normed;        // [B*T, H] its RMSNorm, the input of the next Linear
  AlignedVector<float> qkv;           // [B*T, (NH + 2·NKV)·HD]
  AlignedVector<float> context;       // [B*T, NH·HD]
  AlignedVector<float> selected_context;  // [rows, NH·HD] the context of the rows llama_run_layer_rows computes
  AlignedVector<float> gate_up;       // [B*T, 2·FF]
  AlignedVector<float> intermediate;  // [B*T, FF]
  CausalAttentionScratch attention;
  std::vector<int32_t> positions;     // [B*T] rotary positions
  AlignedVector<float> tap_input;     // a Linear's input copied for a replacing Tap
  AlignedVector<float> head_rows;     // [targets, H] final-normed rows the head reads
  CausalLmHeadScratch head;
  LinearWorkspace linear;
};

TokenLimits llama_token_limits(const LlamaConfig& config);

// The final norm on `rows` last-layer hidden states [rows, H], in place (the LM head's input).
void llama_final_norm(const LlamaModel& model, float* hidden, int64_t rows);
// log p(target) for each target (SequenceModel::target_logprobs). The Tap sees every Linear's input
// and every layer's output, all tokens (a decoder has no [CLS] shortcut).
void llama_target_logprobs(const LlamaModel& model, const TokenBatch& batch, const std::vector<LogprobTarget>& targets,
                           LlamaActivations& act, std::vector<double>& logprobs, const Tap* tap = nullptr);

// SequenceModel::trace: embeddings and every layer for the Tap, and an untied head's input.
void llama_trace(const LlamaModel& model, const TokenBatch& batch, LlamaActivations& act, const Tap* tap);

// The decoder in parts (SequenceModel::embed / run_layers): embeddings into act.hidden, then
// layers [first, end) in place.
void llama_embed(const LlamaModel& model, const TokenBatch& batch, LlamaActivations& act);
void llama_run_layers(const LlamaModel& model, const TokenBatch& batch, LlamaActivations& act, int first, int end,
                      const Tap* tap = nullptr);
// Layer `layer` on act.hidden (left unchanged) for the given rows of its output alone
// (SequenceModel::run_layer_rows): attention over every token, the rest on the rows.
void llama_run_layer_rows(const LlamaModel& model, const TokenBatch& batch, LlamaActivations& act, int layer,
                          std::span<const int64_t> rows, AlignedVector<float>& out);

// Floating-point operations of a forward of B sequences of T tokens with `head_rows` rows through
// the LM head (multiply-adds count 2; norms, softmax and SiLU left out).
double llama_forward_flops(const LlamaConfig& config, int64_t batch, int64_t tokens, int64_t head_rows);

}  // namespace squish
