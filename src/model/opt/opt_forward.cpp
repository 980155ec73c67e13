#include "model/opt/opt_forward.h"

#include <algorithm>

#include "core/error.h"
#include "kernels/vector_ops.h"
#include "model/common/tap_sites.h"

namespace squish {
namespace {

CausalAttentionShape attention_shape(const OptConfig& c, const TokenBatch& b) {
  return {b.batch, b.tokens, c.num_attention_heads, c.num_attention_heads, c.head_dim()};
}

void reserve(const OptConfig& c, const TokenBatch& b, OptActivations& act) {
  const int64_t M = b.batch * b.tokens;
  ensure_size(act.hidden, M * c.hidden_size);
  ensure_size(act.normed, M * c.hidden_size);
  ensure_size(act.qkv, M * 3 * c.hidden_size);
  ensure_size(act.context, M * c.hidden_size);
  ensure_size(act.intermediate, M * c.ffn_dim);
}

void layernorm(float* y, const float* x, const OptLayerNorm& n, int64_t rows, int64_t cols) {
  vector_ops().layernorm(y, x, n.weight.data(), n.bias.data(), rows, cols, OptConfig::kLayerNormEps);
}

// The layer's attention up to its context, for every token of act.hidden (left unchanged).
void attention_context(const OptModel& model, int layer, const TokenBatch& b, OptActivations& act, const Tap* tap) {
  const OptConfig& c = model.config;
  const OptLayerWeights& l = model.weights.layers[static_cast<size_t>(layer)];
  const int64_t M = b.batch * b.tokens;
  layernorm(act.normed.data(), act.hidden.data(), l.attention_norm, M, c.hidden_size);
  linear_apply(l.qkv, act.qkv.data(), tapped_input(tap, act.tap_input, layer, l.qkv, act.normed.data(), M, b.tokens, b),
               M, Epilogue::kNone, act.linear);
  causal_self_attention(model.attention, act.context.data(), act.attention, act.qkv.data(), b, attention_shape(c, b));
}

// The rest of the layer on `rows` rows: x [rows, H] the residual stream, in place, and context
// [rows, H] its attention's context. `tap` (whole layers only) sees the batch's every token.
void output_and_feed_forward(const OptModel& model, int layer, const TokenBatch& b, float* x, const float* context,
                             int64_t rows, OptActivations& act, const Tap* tap) {
  const OptLayerWeights& l = model.weights.layers[static_cast<size_t>(layer)];
  const int64_t H = model.config.hidden_size;
  linear_apply(l.attention_out, x, tapped_input(tap, act.tap_input, layer, l.attention_out, context, rows, b.tokens, b),
               rows, Epilogue::kAccumulate, act.linear);
  layernorm(act.normed.data(), x, l.ffn_norm, rows, H);
  linear_apply(l.fc1, act.intermediate.data(),
               tapped_input(tap, act.tap_input, layer, l.fc1, act.normed.data(), rows, b.tokens, b), rows,
               Epilogue::kRelu, act.linear);
  linear_apply(l.fc2, x, tapped_input(tap, act.tap_input, layer, l.fc2, act.intermediate.data(), rows, b.tokens, b),
               rows, Epilogue::kAccumulate, act.linear);
  emit_tap(tap, {TapSite::kLayerOutput, layer}, x, rows, H, b.tokens, b);
}

void decoder_layer(const OptModel& model, int layer, const TokenBatch& b, OptActivations& act, const Tap* tap) {
  attention_context(model, layer, b, act, tap);
  output_and_feed_forward(model, layer, b, act.hidden.data(), act.context.data(), b.batch * b.tokens, act, tap);
}

}  // namespace

TokenLimits opt_token_limits(const OptConfig& c) { return {c.vocab_size, 1, c.max_position_embeddings, true}; }

void opt_embed(const OptModel& model, const TokenBatch& b, OptActivations& act) {
  validate_token_batch(opt_token_limits(model.config), b);
  reserve(model.config, b, act);
  const int64_t M = b.batch * b.tokens, H = model.config.hidden_size;
  // HF derives positions from the attention mask's running count (right padding: 0..len-1); a
  // continuation branch's tokens follow the shared prefix, as if it stood alone after it.
  act.positions.resize(static_cast<size_t>(M));
  causal_positions(act.positions.data(), b.lengths.data(), b.branch_ids.empty() ? nullptr : b.branch_ids.data(),
                   b.batch, b.tokens);
  float* hidden = act.hidden.data();
  const float* positions = model.weights.embed_positions.data();
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < M; ++row) {
    const float* position = positions + (act.positions[static_cast<size_t>(row)] + OptConfig::kPositionOffset) * H;
    std::copy_n(position, H, hidden + row * H);
    model.weights.embed_tokens.add_row(b.input_ids[static_cast<size_t>(row)], hidden + row * H);
  }
}

void opt_run_layers(const OptModel& model, const TokenBatch& b, OptActivations& act, int first, int end,
                    const Tap* tap) {
  check_layer_run(opt_token_limits(model.config), b, first, end, model.config.num_hidden_layers,
                  static_cast<int64_t>(act.hidden.size()), model.config.hidden_size, "opt_run_layers");
  reserve(model.config, b, act);
  for (int i = first; i < end; ++i) decoder_layer(model, i, b, act, tap);
}

void opt_run_layer_rows(const OptModel& model, const TokenBatch& b, OptActivations& act, int layer,
                        std::span<const int64_t> rows, AlignedVector<float>& out) {
  check_layer_run(opt_token_limits(model.config), b, layer, layer + 1, model.config.num_hidden_layers,
                  static_cast<int64_t>(act.hidden.size()), model.config.hidden_size, "opt_run_layer_rows");
  reserve(model.config, b, act);
  attention_context(model, layer, b, act, nullptr);
  gather_rows(act.hidden.data(), model.config.hidden_size, rows, out);
  gather_rows(act.context.data(), model.config.hidden_size, rows, act.selected_context);
  output_and_feed_forward(model, layer, b, out.data(), act.selected_context.data(), static_cast<int64_t>(rows.size()),
                          act, nullptr);
}

namespace {

// Embeddings and every layer into act.hidden, the Tap seeing them.
void run_decoder(const OptModel& model, const TokenBatch& b, OptActivations& act, const Tap* tap) {
  opt_embed(model, b, act);
  emit_tap(tap, {TapSite::kEmbeddings, -1}, act.hidden.data(), b.batch * b.tokens, model.config.hidden_size, b.tokens,
           b);
  opt_run_layers(model, b, act, 0, static_cast<int>(model.config.num_hidden_layers), tap);
}

}  // namespace

void opt_trace(const OptModel& model, const TokenBatch& b, OptActivations& act, const Tap* tap) {
  run_decoder(model, b, act, tap);
  if (!tap || model.config.tie_word_embeddings) return;
  const int64_t M = b.batch * b.tokens, H = model.config.hidden_size;
  layernorm(act.normed.data(), act.hidden.data(), model.weights.final_norm, M, H);
  tapped_input(tap, act.tap_input, -1, model.weights.lm_head, act.normed.data(), M, b.tokens, b);
}

void opt_final_norm(const OptModel& model, float* hidden, int64_t rows) {
  layernorm(hidden, hidden, model.weights.final_norm, rows, model.config.hidden_size);
}

void opt_target_logprobs(const OptModel& model, const TokenBatch& b, const std::vector<LogprobTarget>& targets,
                         OptActivations& act, std::vector<double>& logprobs, const Tap* tap) {
  const OptConfig& c = model.config;
  const int64_t H = c.hidden_size, n = static_cast<int64_t>(targets.size());
  check_logprob_targets(b, targets, c.vocab_size);
  run_decoder(model, b, act, tap);
  // The final LayerNorm on the asked rows alone.
  std::vector<int32_t> tokens;
  gather_target_rows(act.hidden.data(), H, b, targets, act.head_rows, tokens);
  opt_final_norm(model, act.head_rows.data(), n);
  const LinearWeights& head =
      c.tie_word_embeddings ? model.weights.embed_tokens.projection() : *model.weights.lm_head.weights;
  logprobs.resize(static_cast<size_t>(n));
  causal_lm_logprobs(head, act.head_rows.data(), n, tokens.data(), logprobs.data(), act.head);
}

double opt_forward_flops(const OptConfig& c, int64_t batch, int64_t tokens, int64_t head_rows) {
  const double M = static_cast<double>(batch * tokens), T = static_cast<double>(tokens);
  const double H = static_cast<double>(c.hidden_size), FF = static_cast<double>(c.ffn_dim);
  const double layer = 2.0 * M * (4.0 * H * H + 2.0 * H * FF) + 2.0 * 2.0 * M * T * H;
  return static_cast<double>(c.num_hidden_layers) * layer +
         2.0 * static_cast<double>(head_rows) * H * static_cast<double>(c.vocab_size);
}

}  // namespace squish
