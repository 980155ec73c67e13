#include "model/bert/bert_training.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "core/random.h"
#include "kernels/attention_training.h"
#include "kernels/matmul.h"
#include "kernels/training_ops.h"
#include "model/bert/bert_forward.h"

namespace squish {
namespace {

// Where a dropout mask is drawn; part of its random stream's key.
enum DropoutSite : uint64_t { kEmbeddingsSite = 1, kProbsSite, kAttentionOutSite, kFfnOutSite, kPoolerSite };

void add_to(float* y, const float* x, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

// Keys of the rows of a [B·T, width] activation (T = 1: one row a sequence) or of attention's
// [B, heads, T, T] probabilities (rows (b, head, query)): element (row, c) draws value row key + c, so
// a sequence's masks depend on its place in the step's batch and on positions, never on the padded
// length T or on which rank holds it. `positions` bounds T (the config's max_position_embeddings).
std::vector<uint64_t> dropout_row_keys(const BertDropout& d, int64_t batch, int64_t heads, int64_t tokens,
                                       int64_t positions, int64_t width) {
  std::vector<uint64_t> keys;
  keys.reserve(static_cast<size_t>(batch * heads * tokens));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t t = 0; t < tokens; ++t)
        keys.push_back(static_cast<uint64_t>(((d.first_sequence + b) * heads + h) * positions + t) *
                       static_cast<uint64_t>(width));
  return keys;
}

// Draws the mask of one dropout site over [B·T, H] (or [B, H] when tokens is 1) and applies it to x
// in place; no mask and no change at rate 0.
void dropout_forward(float* x, AlignedVector<uint8_t>& keep, int64_t batch, int64_t tokens, int64_t width,
                     int64_t positions, float rate, const BertDropout& d, DropoutSite site, int layer) {
  if (rate <= 0) return;
  const int64_t n = batch * tokens * width;
  ensure_size(keep, n);
  dropout_mask_rows(keep.data(), batch * tokens, width, rate,
                    random_stream(d.seed, d.step, site, static_cast<uint64_t>(layer + 1)),
                    dropout_row_keys(d, batch, 1, tokens, positions, width).data());
  dropout_apply(x, x, keep.data(), n, rate);
}

void dropout_backward(float* dx, const float* dy, const AlignedVector<uint8_t>& keep, int64_t n, float rate) {
  if (rate <= 0) {
    if (dx != dy) std::copy_n(dy, n, dx);
    return;
  }
  dropout_apply(dx, dy, keep.data(), n, rate);
}

// y[M,N] = x[M,K] · W[N,K]^T + b
void linear_forward(float* y, const float* x, const float* w, const float* b, int64_t m, int64_t n, int64_t k) {
  matmul(y, x, w, m, n, k, Transpose::kNo, Transpose::kYes, Accumulate::kNo);
  add_bias(y, b, m, n);
}

// dW[N,K] += dy^T · x, db[N] += Σ dy; and dx[M,K] = dy · W (accumulated into dx when asked).
void linear_backward(float* dx, Accumulate dx_acc, float* dw, float* db, const float* dy, const float* x,
                     const float* w, int64_t m, int64_t n, int64_t k) {
  matmul(dw, dy, x, n, k, m, Transpose::kYes, Transpose::kNo, Accumulate::kYes);
  bias_backward(db, dy, m, n);
  if (dx) matmul(dx, dy, w, m, k, n, Transpose::kNo, Transpose::kNo, dx_acc);
}

AttentionShape attention_shape(const BertConfig& c, const TokenBatch& b, int layer) {
  return {b.batch, b.tokens, c.heads_in(layer), c.head_dim()};
}

void check_labels(const std::vector<int32_t>& labels, const TokenBatch& b, int64_t classes) {
  if (static_cast<int64_t>(labels.size()) != b.batch)
    throw DataError("training batch: " + std::to_string(labels.size()) + " labels for " + std::to_string(b.batch) +
                    " sequences");
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= classes)
      throw DataError("training batch: label " + std::to_string(labels[i]) + " of sequence " + std::to_string(i) +
                      " is outside [0, " + std::to_string(classes) + ")");
}

void layer_forward(const BertParameters& p, int layer, const TokenBatch& b, BertTrainActivations& act, float* out) {
  const BertConfig& c = p.config;
  const BertLayerParameterIds& id = p.ids.layers[static_cast<size_t>(layer)];
  const ParameterBuffer& w = p.values;
  BertLayerTrainActivations& a = act.layers[static_cast<size_t>(layer)];
  const BertDropout& d = act.dropout;
  const AttentionShape s = attention_shape(c, b, layer);
  const int64_t M = b.batch * b.tokens, H = c.hidden_size, HL = s.hidden(), FF = c.intermediate_size_in(layer);
  const float eps = static_cast<float>(c.layer_norm_eps);
  ensure_size(a.qkv, M * 3 * HL);
  ensure_size(a.probs, attention_probs_floats(s));
  ensure_size(a.context, M * HL);
  ensure_size(a.attention_sum, M * H);
  ensure_size(a.attention_mean, M);
  ensure_size(a.attention_rstd, M);
  ensure_size(a.attention_ln, M * H);
  ensure_size(a.ffn_pre, M * FF);
  ensure_size(a.ffn_act, M * FF);
  ensure_size(a.output_sum, M * H);
  ensure_size(a.output_mean, M);
  ensure_size(a.output_rstd, M);

  linear_forward(a.qkv.data(), a.input.data(), w.data(id.qkv_weight), w.data(id.qkv_bias), M, 3 * HL, H);
  const uint8_t* probs_keep = nullptr;
  if (d.attention > 0) {
    ensure_size(a.probs_keep, attention_probs_floats(s));
    dropout_mask_rows(
        a.probs_keep.data(), b.batch * s.heads * b.tokens, b.tokens, d.attention,
        random_stream(d.seed, d.step, kProbsSite, static_cast<uint64_t>(layer + 1)),
        dropout_row_keys(d, b.batch, s.heads, b.tokens, c.max_position_embeddings, c.max_position_embeddings).data());
    probs_keep = a.probs_keep.data();
  }
  attention_train_forward(a.context.data(), a.probs.data(), a.qkv.data(), b.lengths.data(), probs_keep, d.attention,
                          s);
  // LN(input + dropout(context · Wo^T + bo)), HF's order of operations
  linear_forward(a.attention_sum.data(), a.context.data(), w.data(id.attention_out_weight),
                 w.data(id.attention_out_bias), M, H, HL);
  dropout_forward(a.attention_sum.data(), a.attention_keep, b.batch, b.tokens, H, c.max_position_embeddings, d.hidden,
                  d, kAttentionOutSite, layer);
  add_to(a.attention_sum.data(), a.input.data(), M * H);
  layernorm_forward(a.attention_ln.data(), a.attention_mean.data(), a.attention_rstd.data(), a.attention_sum.data(),
                    w.data(id.attention_ln_gamma), w.data(id.attention_ln_beta), M, H, eps);
  // LN(x + dropout(gelu(x · W1^T + b1) · W2^T + b2))
  linear_forward(a.ffn_pre.data(), a.attention_ln.data(), w.data(id.intermediate_weight),
                 w.data(id.intermediate_bias), M, FF, H);
  gelu_forward(a.ffn_act.data(), a.ffn_pre.data(), M * FF);
  linear_forward(a.output_sum.data(), a.ffn_act.data(), w.data(id.output_weight), w.data(id.output_bias), M, H, FF);
  dropout_forward(a.output_sum.data(), a.output_keep, b.batch, b.tokens, H, c.max_position_embeddings, d.hidden, d,
                  kFfnOutSite, layer);
  add_to(a.output_sum.data(), a.attention_ln.data(), M * H);
  layernorm_forward(out, a.output_mean.data(), a.output_rstd.data(), a.output_sum.data(), w.data(id.output_ln_gamma),
                    w.data(id.output_ln_beta), M, H, eps);
}

// d_hidden [M, H] holds d(layer output) on entry and d(layer input) on return.
void layer_backward(const BertParameters& p, int layer, const TokenBatch& b, BertTrainActivations& act,
                    ParameterBuffer& g) {
  const BertConfig& c = p.config;
  const BertLayerParameterIds& id = p.ids.layers[static_cast<size_t>(layer)];
  const ParameterBuffer& w = p.values;
  const BertLayerTrainActivations& a = act.layers[static_cast<size_t>(layer)];
  const BertDropout& d = act.dropout;
  const AttentionShape s = attention_shape(c, b, layer);
  const int64_t M = b.batch * b.tokens, H = c.hidden_size, HL = s.hidden(), FF = c.intermediate_size_in(layer);
  float* dh = act.d_hidden.data();
  float* dt = act.d_tmp.data();
  float* dwide = act.d_wide.data();

  layernorm_backward(dh, g.data(id.output_ln_gamma), g.data(id.output_ln_beta), dh, a.output_sum.data(),
                     a.output_mean.data(), a.output_rstd.data(), w.data(id.output_ln_gamma), M, H);
  // output_sum = attention_ln + dropout(ffn_act · W2^T + b2): dh is also d(attention_ln)'s residual part
  dropout_backward(dt, dh, a.output_keep, M * H, d.hidden);
  linear_backward(dwide, Accumulate::kNo, g.data(id.output_weight), g.data(id.output_bias), dt, a.ffn_act.data(),
                  w.data(id.output_weight), M, H, FF);
  gelu_backward(dwide, dwide, a.ffn_pre.data(), M * FF);
  linear_backward(dh, Accumulate::kYes, g.data(id.intermediate_weight), g.data(id.intermediate_bias), dwide,
                  a.attention_ln.data(), w.data(id.intermediate_weight), M, FF, H);

  layernorm_backward(dh, g.data(id.attention_ln_gamma), g.data(id.attention_ln_beta), dh, a.attention_sum.data(),
                     a.attention_mean.data(), a.attention_rstd.data(), w.data(id.attention_ln_gamma), M, H);
  // attention_sum = input + dropout(context · Wo^T + bo)
  dropout_backward(dt, dh, a.attention_keep, M * H, d.hidden);
  linear_backward(dwide, Accumulate::kNo, g.data(id.attention_out_weight), g.data(id.attention_out_bias), dt,
                  a.context.data(), w.data(id.attention_out_weight), M, H, HL);
  attention_backward(act.d_qkv.data(), act.attention_workspace.data(), dwide, a.qkv.data(), a.probs.data(),
                     b.lengths.data(), d.attention > 0 ? a.probs_keep.data() : nullptr, d.attention, s);
  linear_backward(dh, Accumulate::kYes, g.data(id.qkv_weight), g.data(id.qkv_bias), act.d_qkv.data(),
                  a.input.data(), w.data(id.qkv_weight), M, 3 * HL, H);
}

}  // namespace

BertDropout BertDropout::from_config(const BertConfig& c, uint64_t seed, uint64_t step) {
  BertDropout d;
  d.hidden = static_cast<float>(c.hidden_dropout_prob);
  d.attention = static_cast<float>(c.attention_probs_dropout_prob);
  d.classifier = static_cast<float>(c.classifier_dropout_rate());
  d.seed = seed;
  d.step = step;
  return d;
}

float bert_train_forward(const BertParameters& p, const TokenBatch& b, const std::vector<int32_t>& labels,
                         const BertDropout& dropout, BertTrainActivations& act, int64_t mean_over) {
  const BertConfig& c = p.config;
  const ParameterBuffer& w = p.values;
  const BertParameterIds& id = p.ids;
  validate_token_batch(bert_token_limits(c), b);
  check_labels(labels, b, c.num_labels);
  const int64_t B = b.batch, T = b.tokens, M = B * T, H = c.hidden_size, C = c.num_labels;
  const int layers = static_cast<int>(c.num_hidden_layers);
  act.batch = B;
  act.tokens = T;
  act.dropout = dropout;
  act.layers.resize(static_cast<size_t>(layers));
  for (auto& layer : act.layers) ensure_size(layer.input, M * H);
  ensure_size(act.embeddings_sum, M * H);
  ensure_size(act.embeddings_mean, M);
  ensure_size(act.embeddings_rstd, M);
  ensure_size(act.hidden, M * H);

  // hidden = dropout(LN(word[id] + position[t] + type[tt])), summed in HF's order
  const float* word = w.data(id.word_embeddings);
  const float* position = w.data(id.position_embeddings);
  const float* type = w.data(id.token_type_embeddings);
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < M; ++row) {
    const float* wr = word + static_cast<int64_t>(b.input_ids[static_cast<size_t>(row)]) * H;
    const float* pr = position + (row % T) * H;
    const float* tr = type + static_cast<int64_t>(b.token_type_ids[static_cast<size_t>(row)]) * H;
    float* out = act.embeddings_sum.data() + row * H;
    for (int64_t i = 0; i < H; ++i) out[i] = wr[i] + pr[i] + tr[i];
  }
  float* first_input = act.layers.empty() ? act.hidden.data() : act.layers[0].input.data();
  layernorm_forward(first_input, act.embeddings_mean.data(), act.embeddings_rstd.data(), act.embeddings_sum.data(),
                    w.data(id.embeddings_ln_gamma), w.data(id.embeddings_ln_beta), M, H,
                    static_cast<float>(c.layer_norm_eps));
  dropout_forward(first_input, act.embeddings_keep, b.batch, b.tokens, H, c.max_position_embeddings, dropout.hidden,
                  dropout, kEmbeddingsSite, -1);

  for (int i = 0; i < layers; ++i) {
    float* out = i + 1 < layers ? act.layers[static_cast<size_t>(i) + 1].input.data() : act.hidden.data();
    layer_forward(p, i, b, act, out);
  }
  const float* last = layers > 0 ? act.hidden.data() : first_input;

  // logits = dropout(tanh([CLS] · Wp^T + bp)) · Wc^T + bc
  ensure_size(act.cls, B * H);
  ensure_size(act.pooled, B * H);
  ensure_size(act.pooled_dropped, B * H);
  for (int64_t s = 0; s < B; ++s) std::copy_n(last + s * T * H, H, act.cls.data() + s * H);
  linear_forward(act.pooled.data(), act.cls.data(), w.data(id.pooler_weight), w.data(id.pooler_bias), B, H, H);
  for (int64_t i = 0; i < B * H; ++i) act.pooled[static_cast<size_t>(i)] = std::tanh(act.pooled[static_cast<size_t>(i)]);
  std::copy_n(act.pooled.data(), B * H, act.pooled_dropped.data());
  dropout_forward(act.pooled_dropped.data(), act.pooled_keep, B, 1, H, 1, dropout.classifier, dropout, kPoolerSite, -1);
  act.logits.resize(static_cast<size_t>(B * C));
  act.d_logits.resize(static_cast<size_t>(B * C));
  linear_forward(act.logits.data(), act.pooled_dropped.data(), w.data(id.classifier_weight),
                 w.data(id.classifier_bias), B, C, H);
  return softmax_cross_entropy(act.d_logits.data(), act.logits.data(), labels.data(), B, C,
                               mean_over > 0 ? mean_over : B);
}

void bert_backward(const BertParameters& p, const TokenBatch& b, BertTrainActivations& act, ParameterBuffer& g) {
  const BertConfig& c = p.config;
  const ParameterBuffer& w = p.values;
  const BertParameterIds& id = p.ids;
  if (act.batch != b.batch || act.tokens != b.tokens)
    throw Error(ExitCode::kInternal, "bert_backward: activations are of another batch");
  if (g.floats() != w.floats()) throw Error(ExitCode::kInternal, "bert_backward: gradients of another layout");
  const int64_t B = b.batch, T = b.tokens, M = B * T, H = c.hidden_size, C = c.num_labels;
  const int layers = static_cast<int>(c.num_hidden_layers);
  int64_t wide = H, qkv = 0, workspace = 0;
  for (int i = 0; i < layers; ++i) {
    const AttentionShape s = attention_shape(c, b, i);
    wide = std::max({wide, c.intermediate_size_in(i), s.hidden()});
    qkv = std::max(qkv, 3 * s.hidden());
    workspace = std::max(workspace, attention_backward_workspace_floats(s));
  }
  ensure_size(act.d_hidden, M * H);
  ensure_size(act.d_tmp, std::max(M, B) * H);
  ensure_size(act.d_wide, M * wide);
  ensure_size(act.d_qkv, M * qkv);
  ensure_size(act.attention_workspace, workspace);

  // Head: classifier, dropout, tanh pooler; d[CLS] lands in d_hidden's first row of each sequence.
  float* dt = act.d_tmp.data();
  linear_backward(dt, Accumulate::kNo, g.data(id.classifier_weight), g.data(id.classifier_bias), act.d_logits.data(),
                  act.pooled_dropped.data(), w.data(id.classifier_weight), B, C, H);
  dropout_backward(dt, dt, act.pooled_keep, B * H, act.dropout.classifier);
  tanh_backward(dt, dt, act.pooled.data(), B * H);
  float* dh = act.d_hidden.data();
  std::fill_n(dh, M * H, 0.0f);
  AlignedVector<float>& d_cls = act.d_wide;  // free until the layers run
  linear_backward(d_cls.data(), Accumulate::kNo, g.data(id.pooler_weight), g.data(id.pooler_bias), dt, act.cls.data(),
                  w.data(id.pooler_weight), B, H, H);
  for (int64_t s = 0; s < B; ++s) std::copy_n(d_cls.data() + s * H, H, dh + s * T * H);

  for (int i = layers - 1; i >= 0; --i) layer_backward(p, i, b, act, g);

  dropout_backward(dh, dh, act.embeddings_keep, M * H, act.dropout.hidden);
  layernorm_backward(dh, g.data(id.embeddings_ln_gamma), g.data(id.embeddings_ln_beta), dh, act.embeddings_sum.data(),
                     act.embeddings_mean.data(), act.embeddings_rstd.data(), w.data(id.embeddings_ln_gamma), M, H);
  std::vector<int32_t> positions(static_cast<size_t>(M));
  for (int64_t row = 0; row < M; ++row) positions[static_cast<size_t>(row)] = static_cast<int32_t>(row % T);
  embedding_backward(g.data(id.word_embeddings), dh, b.input_ids.data(), M, H);
  embedding_backward(g.data(id.position_embeddings), dh, positions.data(), M, H);
  embedding_backward(g.data(id.token_type_embeddings), dh, b.token_type_ids.data(), M, H);
}

double bert_train_flops(const BertConfig& c, int64_t batch, int64_t tokens) {
  const double B = static_cast<double>(batch), T = static_cast<double>(tokens), M = B * T;
  const double H = static_cast<double>(c.hidden_size), HD = static_cast<double>(c.head_dim());
  double forward = 2.0 * B * H * (H + static_cast<double>(c.num_labels));
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const double HL = static_cast<double>(c.heads_in(i)) * HD, FF = static_cast<double>(c.intermediate_size_in(i));
    forward += 2.0 * M * (3.0 * HL * H + HL * H + 2.0 * H * FF) + 2.0 * 2.0 * B * T * T * HL;
  }
  return 3.0 * forward;  // backward: two products per forward product
}

}  // namespace squish
