#include "model/bert/bert_forward.h"

#include <algorithm>

#include "core/error.h"
#include "kernels/attention.h"
#include "kernels/attention_int8.h"
#include "kernels/vector_ops.h"
#include "model/common/tap_sites.h"

namespace squish {
namespace {

// hidden[b,t,:] = LN(word[id] + position[t] + token_type[type])
void embed(const BertModel& model, const TokenBatch& b, float* hidden) {
  const BertWeights& w = model.weights;
  const int64_t H = model.config.hidden_size;
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < b.batch * b.tokens; ++row) {
    const int64_t t = row % b.tokens;
    const float* pos = w.position_embeddings.data() + t * H;
    const float* type = w.token_type_embeddings.data() + static_cast<int64_t>(b.token_type_ids[row]) * H;
    float* out = hidden + row * H;
    std::fill_n(out, H, 0.0f);
    w.word_embeddings.add_row(b.input_ids[row], out);  // 0 + word is word exactly: HF's order of sums is kept
    for (int64_t i = 0; i < H; ++i) out[i] = out[i] + pos[i] + type[i];
  }
  vector_ops().layernorm(hidden, hidden, w.embeddings_ln_gamma.data(), w.embeddings_ln_beta.data(),
                         b.batch * b.tokens, H, static_cast<float>(model.config.layer_norm_eps));
}

// The rest of layer i after attention, on `rows` rows: x [rows, H] the residual stream, in place,
// and context [rows, A]; `queries` of them a sequence, for the Tap.
void output_and_feed_forward(const BertModel& model, int layer, const TokenBatch& b, float* x, const float* context,
                             int64_t rows, int64_t queries, BertActivations& act, const Tap* tap) {
  const BertLayerWeights& l = model.weights.layers[static_cast<size_t>(layer)];
  const int64_t H = model.config.hidden_size;
  const float eps = static_cast<float>(model.config.layer_norm_eps);
  const VectorOps& ops = vector_ops();
  linear_apply(l.attention_out, x, tapped_input(tap, act.tap_input, layer, l.attention_out, context, rows, queries, b),
               rows, Epilogue::kAccumulate, act.linear);
  ops.layernorm(x, x, l.attention_ln_gamma.data(), l.attention_ln_beta.data(), rows, H, eps);
  linear_apply(l.intermediate, act.intermediate.data(),
               tapped_input(tap, act.tap_input, layer, l.intermediate, x, rows, queries, b), rows, Epilogue::kGelu,
               act.linear);
  linear_apply(l.output, x,
               tapped_input(tap, act.tap_input, layer, l.output, act.intermediate.data(), rows, queries, b), rows,
               Epilogue::kAccumulate, act.linear);
  ops.layernorm(x, x, l.output_ln_gamma.data(), l.output_ln_beta.data(), rows, H, eps);
  emit_tap(tap, {TapSite::kLayerOutput, layer}, x, rows, H, queries, b);
}

// Layer i's fused Q|K|V for every token of act.hidden, then the attention of each sequence's first
// `queries` positions into act.context [B, queries, A].
void attention_context(const BertModel& model, int layer, const TokenBatch& b, BertActivations& act, int64_t queries,
                       const Tap* tap) {
  const BertLayerWeights& l = model.weights.layers[static_cast<size_t>(layer)];
  const int64_t M = b.batch * b.tokens;
  const AttentionShape shape{b.batch, b.tokens, model.config.heads_in(layer), model.config.head_dim()};
  linear_apply(l.qkv, act.qkv.data(), tapped_input(tap, act.tap_input, layer, l.qkv, act.hidden.data(), M, b.tokens, b),
               M, Epilogue::kNone, act.linear);
  if (model.attention == AttentionArithmetic::kInt8) {
    ensure_size(act.attention_int8, attention_int8_workspace_bytes(shape));  // per thread: sized at the call
    attention_int8(act.context.data(), act.attention_int8.data(), act.qkv.data(), b.lengths.data(), shape, queries);
    return;
  }
  attention(act.context.data(), act.attention.data(), act.qkv.data(), b.lengths.data(), shape, queries);
}

// Layer i on act.hidden [B*T, H]: in place, or, for a [CLS]-only layer, into act.cls [B, H].
void encoder_layer(const BertModel& model, int layer, const TokenBatch& b, BertActivations& act, bool cls_only,
                   const Tap* tap) {
  const int64_t B = b.batch, T = b.tokens, H = model.config.hidden_size;
  const int64_t queries = cls_only ? 1 : T;
  attention_context(model, layer, b, act, queries, tap);
  float* x = act.hidden.data();
  if (cls_only) {  // the residual stream continues on the [CLS] rows alone
    for (int64_t s = 0; s < B; ++s) std::copy_n(act.hidden.data() + s * T * H, H, act.cls.data() + s * H);
    x = act.cls.data();
  }
  output_and_feed_forward(model, layer, b, x, act.context.data(), B * queries, queries, act, tap);
}

// Sizes every buffer of a forward of `b` (all layers computed), layer buffers by the widest layer.
void reserve(const BertModel& model, const TokenBatch& b, BertActivations& act) {
  const BertConfig& c = model.config;
  const int64_t B = b.batch, T = b.tokens, M = B * T, H = c.hidden_size;
  int64_t heads = 0, FF = 0;
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    heads = std::max(heads, c.heads_in(i));
    FF = std::max(FF, c.intermediate_size_in(i));
  }
  const int64_t A = heads * c.head_dim();
  ensure_size(act.hidden, M * H);
  ensure_size(act.qkv, M * 3 * A);
  ensure_size(act.context, M * A);
  ensure_size(act.intermediate, M * FF);
  // int8 attention sizes its own (per-thread) scratch at the call.
  if (model.attention == AttentionArithmetic::kFp32)
    ensure_size(act.attention, attention_workspace_floats(AttentionShape{B, T, heads, c.head_dim()}, T));
  ensure_size(act.cls, B * H);
  ensure_size(act.pooled, B * H);
}

}  // namespace

TokenLimits bert_token_limits(const BertConfig& c) {
  return {c.vocab_size, c.type_vocab_size, c.max_position_embeddings};
}

void bert_forward(const BertModel& model, const TokenBatch& b, BertActivations& act, std::vector<float>& logits,
                  const ForwardOptions& options) {
  const BertConfig& c = model.config;
  const BertWeights& w = model.weights;
  if (!w.has_classifier)
    throw ConfigError(model.source + ": architecture " + c.architecture +
                      " has no sequence-classification head (pooler + classifier)");
  validate_token_batch(bert_token_limits(c), b);
  const int64_t B = b.batch, T = b.tokens, M = B * T, H = c.hidden_size;
  reserve(model, b, act);
  float* hidden = act.hidden.data();
  const Tap* tap = options.tap;

  embed(model, b, hidden);
  emit_tap(tap, {TapSite::kEmbeddings, -1}, hidden, M, H, T, b);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const bool cls_only = i + 1 == c.num_hidden_layers && options.last_layer == LastLayerRows::kClsOnly;
    encoder_layer(model, static_cast<int>(i), b, act, cls_only, tap);
  }
  // The pooler reads each sequence's [CLS] row; a [CLS]-only last layer left them in act.cls already.
  if (options.last_layer == LastLayerRows::kAllTokens)
    for (int64_t s = 0; s < B; ++s) std::copy_n(hidden + s * T * H, H, act.cls.data() + s * H);
  linear_apply(w.pooler, act.pooled.data(), tapped_input(tap, act.tap_input, -1, w.pooler, act.cls.data(), B, 1, b), B,
               Epilogue::kTanh, act.linear);
  logits.resize(static_cast<size_t>(B * c.num_labels));
  linear_apply(w.classifier, logits.data(),
               tapped_input(tap, act.tap_input, -1, w.classifier, act.pooled.data(), B, 1, b), B, Epilogue::kNone,
               act.linear);
  emit_tap(tap, {TapSite::kLogits, -1}, logits.data(), B, c.num_labels, 1, b);
}

void bert_embed(const BertModel& model, const TokenBatch& b, BertActivations& act) {
  validate_token_batch(bert_token_limits(model.config), b);
  reserve(model, b, act);
  embed(model, b, act.hidden.data());
}

void bert_run_layers(const BertModel& model, const TokenBatch& b, BertActivations& act, int first, int end,
                     const Tap* tap) {
  check_layer_run(bert_token_limits(model.config), b, first, end, model.config.num_hidden_layers,
                  static_cast<int64_t>(act.hidden.size()), model.config.hidden_size, "bert_run_layers");
  reserve(model, b, act);
  for (int i = first; i < end; ++i) encoder_layer(model, i, b, act, false, tap);
}

void bert_run_layer_rows(const BertModel& model, const TokenBatch& b, BertActivations& act, int layer,
                         std::span<const int64_t> rows, AlignedVector<float>& out) {
  check_layer_run(bert_token_limits(model.config), b, layer, layer + 1, model.config.num_hidden_layers,
                  static_cast<int64_t>(act.hidden.size()), model.config.hidden_size, "bert_run_layer_rows");
  reserve(model, b, act);
  attention_context(model, layer, b, act, b.tokens, nullptr);
  gather_rows(act.hidden.data(), model.config.hidden_size, rows, out);
  gather_rows(act.context.data(), model.config.heads_in(layer) * model.config.head_dim(), rows, act.selected_context);
  output_and_feed_forward(model, layer, b, out.data(), act.selected_context.data(), static_cast<int64_t>(rows.size()),
                          b.tokens, act, nullptr);
}

double bert_forward_flops(const BertConfig& c, int64_t batch, int64_t seq, LastLayerRows last_layer) {
  const double B = static_cast<double>(batch), T = static_cast<double>(seq), M = B * T;
  const double H = static_cast<double>(c.hidden_size);
  // rows: tokens the dense part runs on; queries: attending positions per sequence. A: the layer's
  // attention width NH_l·HD, FF: its neurons.
  auto layer = [&](int64_t i, double rows, double queries) {
    const double A = static_cast<double>(c.heads_in(i) * c.head_dim());
    const double FF = static_cast<double>(c.intermediate_size_in(i));
    return 2.0 * M * 3.0 * A * H + 2.0 * 2.0 * B * queries * T * A + 2.0 * rows * (A * H + 2.0 * H * FF);
  };
  double flops = 2.0 * B * H * (H + static_cast<double>(c.num_labels));  // pooler and classifier
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const bool cls_only = i + 1 == c.num_hidden_layers && last_layer == LastLayerRows::kClsOnly;
    flops += cls_only ? layer(i, B, 1.0) : layer(i, M, T);
  }
  return flops;
}

}  // namespace squish
