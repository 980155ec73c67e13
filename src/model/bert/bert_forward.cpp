#include "model/bert/bert_forward.h"

#include "core/error.h"
#include "kernels/attention.h"
#include "kernels/vector_ops.h"

namespace squish {
namespace {

void ensure(AlignedVector<float>& buf, int64_t n) {
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
}

void emit(const Tap* tap, int layer, TapSite site, const float* data, int64_t rows, int64_t cols,
          const TokenBatch& b) {
  if (tap) (*tap)(layer, site, TapView{data, rows, cols, b.batch, b.tokens, b.lengths.data()});
}

// hidden[b,t,:] = LN(word[id] + position[t] + token_type[type])
void embed(const BertModel& model, const TokenBatch& b, float* hidden) {
  const BertWeights& w = model.weights;
  const int64_t H = model.config.hidden_size;
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < b.batch * b.tokens; ++row) {
    const int64_t t = row % b.tokens;
    const float* word = w.word_embeddings.data() + static_cast<int64_t>(b.input_ids[row]) * H;
    const float* pos = w.position_embeddings.data() + t * H;
    const float* type = w.token_type_embeddings.data() + static_cast<int64_t>(b.token_type_ids[row]) * H;
    float* out = hidden + row * H;
    for (int64_t i = 0; i < H; ++i) out[i] = word[i] + pos[i] + type[i];
  }
  vector_ops().layernorm(hidden, hidden, w.embeddings_ln_gamma.data(), w.embeddings_ln_beta.data(),
                         b.batch * b.tokens, H, model.config.layer_norm_eps);
}

}  // namespace

void validate_batch(const BertConfig& c, const TokenBatch& b) {
  const int64_t n = b.batch * b.tokens;
  if (b.batch <= 0 || b.tokens <= 0 || static_cast<int64_t>(b.input_ids.size()) != n ||
      static_cast<int64_t>(b.token_type_ids.size()) != n || static_cast<int64_t>(b.lengths.size()) != b.batch)
    throw ShapeError("token batch: expected B*T ids and type ids and B lengths for B=" + std::to_string(b.batch) +
                     " T=" + std::to_string(b.tokens));
  if (b.tokens > c.max_position_embeddings)
    throw ShapeError("token batch: " + std::to_string(b.tokens) + " tokens exceed max_position_embeddings " +
                     std::to_string(c.max_position_embeddings));
  for (int64_t i = 0; i < b.batch; ++i)
    if (b.lengths[i] < 1 || b.lengths[i] > b.tokens)
      throw ShapeError("token batch: sequence " + std::to_string(i) + " has length " + std::to_string(b.lengths[i]) +
                       ", expected 1.." + std::to_string(b.tokens));
  for (int64_t i = 0; i < n; ++i) {
    if (b.input_ids[i] < 0 || b.input_ids[i] >= c.vocab_size)
      throw ShapeError("token batch: input id " + std::to_string(b.input_ids[i]) + " at position " + std::to_string(i) +
                       " is outside the vocabulary [0, " + std::to_string(c.vocab_size) + ")");
    if (b.token_type_ids[i] < 0 || b.token_type_ids[i] >= c.type_vocab_size)
      throw ShapeError("token batch: token type id " + std::to_string(b.token_type_ids[i]) + " at position " +
                       std::to_string(i) + " is outside [0, " + std::to_string(c.type_vocab_size) + ")");
  }
}

void bert_forward(const BertModel& model, const TokenBatch& b, BertActivations& act, std::vector<float>& logits,
                  const Tap* tap) {
  const BertConfig& c = model.config;
  const BertWeights& w = model.weights;
  if (!w.has_classifier)
    throw ConfigError(model.source + ": architecture " + c.architecture +
                      " has no sequence-classification head (pooler + classifier)");
  validate_batch(c, b);
  const int64_t B = b.batch, T = b.tokens, M = B * T, H = c.hidden_size, FF = c.intermediate_size;
  const AttentionShape shape{B, T, c.num_attention_heads, c.head_dim()};
  ensure(act.hidden, M * H);
  ensure(act.qkv, M * 3 * H);
  ensure(act.context, M * H);
  ensure(act.intermediate, M * FF);
  ensure(act.attention, attention_workspace_floats(shape, T));
  ensure(act.cls, B * H);
  ensure(act.pooled, B * H);
  float* hidden = act.hidden.data();
  const VectorOps& ops = vector_ops();
  // The pooler and a [CLS]-only last layer read each sequence's first token.
  const auto gather_cls = [&] {
    for (int64_t s = 0; s < B; ++s) std::copy_n(hidden + s * T * H, H, act.cls.data() + s * H);
  };

  embed(model, b, hidden);
  emit(tap, -1, TapSite::kEmbeddings, hidden, M, H, b);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const BertLayerWeights& l = w.layers[static_cast<size_t>(i)];
    const int layer = static_cast<int>(i);
    // The classifier reads only [CLS]: past the last layer's K and V, no other token's output is
    // needed, so that layer attends from [CLS] alone and runs its dense part on B rows instead of
    // B*T. With a Tap present every row is computed, since observers want whole activations.
    const bool cls_only = i + 1 == c.num_hidden_layers && tap == nullptr;
    const int64_t queries = cls_only ? 1 : T, rows = B * queries;
    float* x = hidden;
    linear_apply(l.qkv, act.qkv.data(), hidden, M);
    attention(act.context.data(), act.attention.data(), act.qkv.data(), b.lengths.data(), shape, queries);
    emit(tap, layer, TapSite::kAttentionContext, act.context.data(), rows, H, b);
    if (cls_only) {
      gather_cls();
      x = act.cls.data();
    }
    linear_apply(l.attention_out, x, act.context.data(), rows, Epilogue::kAccumulate);
    ops.layernorm(x, x, l.attention_ln_gamma.data(), l.attention_ln_beta.data(), rows, H, c.layer_norm_eps);
    emit(tap, layer, TapSite::kAttentionOutput, x, rows, H, b);
    linear_apply(l.intermediate, act.intermediate.data(), x, rows, Epilogue::kGelu);
    emit(tap, layer, TapSite::kIntermediate, act.intermediate.data(), rows, FF, b);
    linear_apply(l.output, x, act.intermediate.data(), rows, Epilogue::kAccumulate);
    ops.layernorm(x, x, l.output_ln_gamma.data(), l.output_ln_beta.data(), rows, H, c.layer_norm_eps);
    emit(tap, layer, TapSite::kLayerOutput, x, rows, H, b);
  }
  // Without a Tap the last layer already left its [CLS] rows in act.cls.
  if (tap != nullptr) gather_cls();
  linear_apply(w.pooler, act.pooled.data(), act.cls.data(), B, Epilogue::kTanh);
  emit(tap, -1, TapSite::kPooled, act.pooled.data(), B, H, b);
  logits.resize(static_cast<size_t>(B * c.num_labels));
  linear_apply(w.classifier, logits.data(), act.pooled.data(), B);
  emit(tap, -1, TapSite::kLogits, logits.data(), B, c.num_labels, b);
}

}  // namespace squish
