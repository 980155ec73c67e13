#include "model/llama/llama_forward.h"

#include <algorithm>

#include "core/error.h"
#include "kernels/rotary.h"
#include "kernels/vector_ops.h"
#include "model/common/tap_sites.h"

namespace squish {
namespace {

void reserve(const LlamaConfig& c, const TokenBatch& b, LlamaActivations& act) {
  const int64_t M = b.batch * b.tokens;
  ensure_size(act.hidden, M * c.hidden_size);
  ensure_size(act.normed, M * c.hidden_size);
  ensure_size(act.qkv, M * c.qkv_rows());
  ensure_size(act.context, M * c.num_attention_heads * c.head_dim);
  ensure_size(act.gate_up, M * 2 * c.intermediate_size);
  ensure_size(act.intermediate, M * c.intermediate_size);
  act.positions.resize(static_cast<size_t>(M));
  causal_positions(act.positions.data(), b.lengths.data(), b.branch_ids.empty() ? nullptr : b.branch_ids.data(),
                   b.batch, b.tokens);
}

// The layer's attention up to its context, for every token of act.hidden (left unchanged).
void attention_context(const LlamaModel& model, int layer, const TokenBatch& b, LlamaActivations& act, const Tap* tap) {
  const LlamaConfig& c = model.config;
  const LlamaLayerWeights& l = model.weights.layers[static_cast<size_t>(layer)];
  const int64_t M = b.batch * b.tokens;
  vector_ops().rmsnorm(act.normed.data(), act.hidden.data(), l.input_norm.data(), M, c.hidden_size,
                       static_cast<float>(c.rms_norm_eps));
  linear_apply(l.qkv, act.qkv.data(), tapped_input(tap, act.tap_input, layer, l.qkv, act.normed.data(), M, b.tokens, b),
               M, Epilogue::kNone, act.linear);
  // Q and K heads are adjacent at the start of each row: one pass rotates both.
  apply_rotary(act.qkv.data(), M, c.qkv_rows(), c.num_attention_heads + c.num_key_value_heads, act.positions.data(),
               model.rotary);
  const CausalAttentionShape shape{b.batch, b.tokens, c.num_attention_heads, c.num_key_value_heads, c.head_dim};
  causal_self_attention(model.attention, act.context.data(), act.attention, act.qkv.data(), b, shape);
}

// The rest of the layer on `rows` rows: x [rows, H] the residual stream, in place, and context
// [rows, NH·HD] its attention's context. `tap` (whole layers only) sees the batch's every token.
void output_and_mlp(const LlamaModel& model, int layer, const TokenBatch& b, float* x, const float* context,
                    int64_t rows, LlamaActivations& act, const Tap* tap) {
  const LlamaConfig& c = model.config;
  const LlamaLayerWeights& l = model.weights.layers[static_cast<size_t>(layer)];
  const int64_t H = c.hidden_size;
  const VectorOps& ops = vector_ops();
  linear_apply(l.attention_out, x, tapped_input(tap, act.tap_input, layer, l.attention_out, context, rows, b.tokens, b),
               rows, Epilogue::kAccumulate, act.linear);
  ops.rmsnorm(act.normed.data(), x, l.post_attention_norm.data(), rows, H, static_cast<float>(c.rms_norm_eps));
  linear_apply(l.gate_up, act.gate_up.data(),
               tapped_input(tap, act.tap_input, layer, l.gate_up, act.normed.data(), rows, b.tokens, b), rows,
               Epilogue::kNone, act.linear);
  ops.silu_mul(act.intermediate.data(), act.gate_up.data(), rows, c.intermediate_size);
  linear_apply(l.down, x, tapped_input(tap, act.tap_input, layer, l.down, act.intermediate.data(), rows, b.tokens, b),
               rows, Epilogue::kAccumulate, act.linear);
  emit_tap(tap, {TapSite::kLayerOutput, layer}, x, rows, H, b.tokens, b);
}

void decoder_layer(const LlamaModel& model, int layer, const TokenBatch& b, LlamaActivations& act, const Tap* tap) {
  attention_context(model, layer, b, act, tap);
  output_and_mlp(model, layer, b, act.hidden.data(), act.context.data(), b.batch * b.tokens, act, tap);
}

}  // namespace

TokenLimits llama_token_limits(const LlamaConfig& c) { return {c.vocab_size, 1, c.max_position_embeddings, true}; }

void llama_embed(const LlamaModel& model, const TokenBatch& b, LlamaActivations& act) {
  validate_token_batch(llama_token_limits(model.config), b);
  reserve(model.config, b, act);
  const int64_t H = model.config.hidden_size;
  float* hidden = act.hidden.data();
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < b.batch * b.tokens; ++row) {
    std::fill_n(hidden + row * H, H, 0.0f);
    model.weights.embed_tokens.add_row(b.input_ids[static_cast<size_t>(row)], hidden + row * H);
  }
}

void llama_run_layers(const LlamaModel& model, const TokenBatch& b, LlamaActivations& act, int first, int end,
                      const Tap* tap) {
  check_layer_run(llama_token_limits(model.config), b, first, end, model.config.num_hidden_layers,
                  static_cast<int64_t>(act.hidden.size()), model.config.hidden_size, "llama_run_layers");
  reserve(model.config, b, act);
  for (int i = first; i < end; ++i) decoder_layer(model, i, b, act, tap);
}

void llama_run_layer_rows(const LlamaModel& model, const TokenBatch& b, LlamaActivations& act, int layer,
                          std::span<const int64_t> rows, AlignedVector<float>& out) {
  check_layer_run(llama_token_limits(model.config), b, layer, layer + 1, model.config.num_hidden_layers,
                  static_cast<int64_t>(act.hidden.size()), model.config.hidden_size, "llama_run_layer_rows");
  reserve(model.config, b, act);
  attention_context(model, layer, b, act, nullptr);
  const LlamaConfig& c = model.config;
  gather_rows(act.hidden.data(), c.hidden_size, rows, out);
  gather_rows(act.context.data(), c.num_attention_heads * c.head_dim, rows, act.selected_context);
  output_and_mlp(model, layer, b, out.data(), act.selected_context.data(), static_cast<int64_t>(rows.size()), act,
                 nullptr);
}

namespace {

// Embeddings and every layer into act.hidden, the Tap seeing them.
void run_decoder(const LlamaModel& model, const TokenBatch& b, LlamaActivations& act, const Tap* tap) {
  llama_embed(model, b, act);
  emit_tap(tap, {TapSite::kEmbeddings, -1}, act.hidden.data(), b.batch * b.tokens, model.config.hidden_size, b.tokens,
           b);
  llama_run_layers(model, b, act, 0, static_cast<int>(model.config.num_hidden_layers), tap);
}

}  // namespace

void llama_trace(const LlamaModel& model, const TokenBatch& b, LlamaActivations& act, const Tap* tap) {
  run_decoder(model, b, act, tap);
  if (!tap || model.weights.tied_head) return;
  const int64_t M = b.batch * b.tokens, H = model.config.hidden_size;
  vector_ops().rmsnorm(act.normed.data(), act.hidden.data(), model.weights.final_norm.data(), M, H,
                       static_cast<float>(model.config.rms_norm_eps));
  tapped_input(tap, act.tap_input, -1, model.weights.lm_head, act.normed.data(), M, b.tokens, b);
}

void llama_final_norm(const LlamaModel& model, float* hidden, int64_t rows) {
  vector_ops().rmsnorm(hidden, hidden, model.weights.final_norm.data(), rows, model.config.hidden_size,
                       static_cast<float>(model.config.rms_norm_eps));
}

void llama_target_logprobs(const LlamaModel& model, const TokenBatch& b, const std::vector<LogprobTarget>& targets,
                           LlamaActivations& act, std::vector<double>& logprobs, const Tap* tap) {
  const LlamaConfig& c = model.config;
  const int64_t H = c.hidden_size, n = static_cast<int64_t>(targets.size());
  check_logprob_targets(b, targets, c.vocab_size);
  run_decoder(model, b, act, tap);
  // The final norm on the asked rows alone.
  std::vector<int32_t> tokens;
  gather_target_rows(act.hidden.data(), H, b, targets, act.head_rows, tokens);
  llama_final_norm(model, act.head_rows.data(), n);
  const LinearWeights& head =
      model.weights.tied_head ? model.weights.embed_tokens.projection() : *model.weights.lm_head.weights;
  logprobs.resize(static_cast<size_t>(n));
  causal_lm_logprobs(head, act.head_rows.data(), n, tokens.data(), logprobs.data(), act.head);
}

double llama_forward_flops(const LlamaConfig& c, int64_t batch, int64_t tokens, int64_t head_rows) {
  const double M = static_cast<double>(batch * tokens), T = static_cast<double>(tokens);
  const double H = static_cast<double>(c.hidden_size), A = static_cast<double>(c.num_attention_heads * c.head_dim);
  const double QKV = static_cast<double>(c.qkv_rows()), FF = static_cast<double>(c.intermediate_size);
  const double layer = 2.0 * M * (QKV * H + A * H + 3.0 * H * FF) + 2.0 * 2.0 * M * T * A;
  return static_cast<double>(c.num_hidden_layers) * layer +
         2.0 * static_cast<double>(head_rows) * H * static_cast<double>(c.vocab_size);
}

}  // namespace squish
