#include "model/llama/llama_checkpoint.h"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <random>

#include "core/error.h"
#include "io/gguf.h"
#include "model/common/planned_weights.h"
#include "model/common/stored_tensors.h"
#include "model/common/tensor_binder.h"

namespace squish {
namespace {

// Which weight a name-table row fills, and for a fused Linear, which part.
enum class Slot { kEmbedTokens, kFinalNorm, kLmHead, kInputNorm, kQ, kK, kV, kO, kPostNorm, kGate, kUp, kDown };

struct LlamaTensorName {
  Slot slot;
  const char* hf;  // "{}" is the layer index
  const char* gguf;
  bool per_layer;
};

constexpr LlamaTensorName kNames[] = {
    {Slot::kEmbedTokens, "model.embed_tokens.weight", "token_embd.weight", false},
    {Slot::kInputNorm, "model.layers.{}.input_layernorm.weight", "blk.{}.attn_norm.weight", true},
    {Slot::kQ, "model.layers.{}.self_attn.q_proj.weight", "blk.{}.attn_q.weight", true},
    {Slot::kK, "model.layers.{}.self_attn.k_proj.weight", "blk.{}.attn_k.weight", true},
    {Slot::kV, "model.layers.{}.self_attn.v_proj.weight", "blk.{}.attn_v.weight", true},
    {Slot::kO, "model.layers.{}.self_attn.o_proj.weight", "blk.{}.attn_output.weight", true},
    {Slot::kPostNorm, "model.layers.{}.post_attention_layernorm.weight", "blk.{}.ffn_norm.weight", true},
    {Slot::kGate, "model.layers.{}.mlp.gate_proj.weight", "blk.{}.ffn_gate.weight", true},
    {Slot::kUp, "model.layers.{}.mlp.up_proj.weight", "blk.{}.ffn_up.weight", true},
    {Slot::kDown, "model.layers.{}.mlp.down_proj.weight", "blk.{}.ffn_down.weight", true},
    {Slot::kFinalNorm, "model.norm.weight", "output_norm.weight", false},
    {Slot::kLmHead, "lm_head.weight", "output.weight", false},
};

std::string name_at(const char* pattern, int64_t layer) {
  std::string s = pattern;
  const size_t at = s.find("{}");
  return at == std::string::npos ? s : s.replace(at, 2, std::to_string(layer));
}

Shape shape_of(Slot slot, const LlamaConfig& c) {
  const int64_t H = c.hidden_size, HD = c.head_dim;
  switch (slot) {
    case Slot::kEmbedTokens:
    case Slot::kLmHead: return {c.vocab_size, H};
    case Slot::kFinalNorm:
    case Slot::kInputNorm:
    case Slot::kPostNorm: return {H};
    case Slot::kQ: return {c.num_attention_heads * HD, H};
    case Slot::kK:
    case Slot::kV: return {c.num_key_value_heads * HD, H};
    case Slot::kO: return {H, c.num_attention_heads * HD};
    case Slot::kGate:
    case Slot::kUp: return {c.intermediate_size, H};
    case Slot::kDown: return {H, c.intermediate_size};
  }
  return {};
}

// A tensor by its name-table row and layer; the shape is the table's.
using TensorSource = std::function<Tensor(const LlamaTensorName& row, int64_t layer, const Shape& shape)>;

const LlamaTensorName& row_of(Slot slot) {
  return *std::find_if(std::begin(kNames), std::end(kNames), [&](const LlamaTensorName& r) { return r.slot == slot; });
}

// A fused Linear of the given slots, its parts named by their HF modules (".weight" dropped); a
// container's Linear is read in its planned format instead of as floats.
Linear fused_linear(const std::string& name, LinearRole role, int64_t layer, std::initializer_list<Slot> slots,
                    const LlamaConfig& c, const TensorSource& get, PlannedWeights* planned) {
  std::vector<Tensor> weights;
  std::vector<LinearPart> parts;
  for (Slot slot : slots) {
    const LlamaTensorName& row = row_of(slot);
    const Shape shape = shape_of(slot, c);
    if (!planned) weights.push_back(get(row, layer, shape));
    const std::string hf = name_at(row.hf, layer);
    parts.push_back({hf.substr(0, hf.size() - std::string_view(".weight").size()), shape[0]});
  }
  if (planned) {
    std::shared_ptr<const LinearWeights> stored = planned->linear(name, parts, shape_of(*slots.begin(), c)[1]);
    return make_linear(name, role, static_cast<int>(layer), std::move(stored), Tensor(), std::move(parts));
  }
  Tensor w = weights.size() == 1 ? std::move(weights[0]) : concat_rows(weights);
  return make_linear(name, role, static_cast<int>(layer), w, Tensor(), std::move(parts));
}

LlamaModel build_llama(const LlamaConfig& c, bool tied_head, const TensorSource& get, std::string source,
                       PlannedWeights* planned = nullptr) {
  LlamaModel m;
  m.config = c;
  m.source = std::move(source);
  m.rotary = RotaryTable(c.head_dim, c.rope_theta, c.max_position_embeddings);
  LlamaWeights& w = m.weights;
  const Shape embed_shape = shape_of(Slot::kEmbedTokens, c);
  std::optional<EmbeddingTable> table =
      planned ? planned->table("model.embed_tokens", embed_shape[0], embed_shape[1]) : std::nullopt;
  w.embed_tokens = table ? std::move(*table) : EmbeddingTable::dense(get(row_of(Slot::kEmbedTokens), -1, embed_shape));
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string prefix = "model.layers." + std::to_string(i);
    LlamaLayerWeights l;
    l.input_norm = get(row_of(Slot::kInputNorm), i, shape_of(Slot::kInputNorm, c));
    l.qkv = fused_linear(prefix + ".self_attn.qkv_proj", LinearRole::kAttentionQkv, i, {Slot::kQ, Slot::kK, Slot::kV},
                         c, get, planned);
    l.attention_out =
        fused_linear(prefix + ".self_attn.o_proj", LinearRole::kAttentionOut, i, {Slot::kO}, c, get, planned);
    l.post_attention_norm = get(row_of(Slot::kPostNorm), i, shape_of(Slot::kPostNorm, c));
    l.gate_up =
        fused_linear(prefix + ".mlp.gate_up_proj", LinearRole::kFfnIn, i, {Slot::kGate, Slot::kUp}, c, get, planned);
    l.down = fused_linear(prefix + ".mlp.down_proj", LinearRole::kFfnOut, i, {Slot::kDown}, c, get, planned);
    w.layers.push_back(std::move(l));
  }
  w.final_norm = get(row_of(Slot::kFinalNorm), -1, shape_of(Slot::kFinalNorm, c));
  w.tied_head = tied_head;
  if (!tied_head) w.lm_head = fused_linear("lm_head", LinearRole::kLmHead, -1, {Slot::kLmHead}, c, get, planned);
  return m;
}

}  // namespace

LlamaModel llama_from_tensors(const LlamaConfig& config, const TensorMap& tensors, const std::string& file,
                              std::vector<std::string>* unused, const ContainerPlan* plan) {
  TensorBinder binder(tensors, file);
  std::optional<PlannedWeights> planned;
  if (plan) planned.emplace(*plan, binder, file);
  // A container lists every Linear in its plan, and a low-bit head stores no ".weight".
  const bool tied = plan ? !plan->linears.count("lm_head") : !binder.has("lm_head.weight");
  if (tied && !config.tie_word_embeddings)
    throw ShapeError(file + ": missing tensor 'lm_head.weight' (config.json's tie_word_embeddings is false)");
  LlamaModel model = build_llama(
      config, tied,
      [&](const LlamaTensorName& row, int64_t layer, const Shape& shape) {
        return binder.take(name_at(row.hf, layer), shape);
      },
      file, planned ? &*planned : nullptr);
  if (planned) planned->check_all_read(config.architecture);
  if (plan) {
    model.attention = plan->attention;
    apply_tied_head_plan(*plan, model.weights.tied_head, model.weights.embed_tokens, file);
  }
  if (unused) *unused = binder.unbound();
  return model;
}

LlamaModel llama_from_gguf(const GgufFile& gguf, std::vector<std::string>* unused) {
  const GgufTensor* embed = gguf.find("token_embd.weight");
  if (!embed || embed->shape.size() != 2) throw ShapeError(gguf.path + ": missing tensor 'token_embd.weight'");
  LlamaConfig config = llama_config_from_gguf(gguf.metadata, embed->shape[0], gguf.path);
  std::map<std::string, bool> taken;
  for (const GgufTensor& t : gguf.tensors) taken[t.name] = false;
  const bool tied = !gguf.find("output.weight");
  config.tie_word_embeddings = tied;  // llama.cpp's convention: no output.weight means the head is the table
  LlamaModel model = build_llama(
      config, tied,
      [&](const LlamaTensorName& row, int64_t layer, const Shape& shape) {
        const std::string name = name_at(row.gguf, layer);
        const GgufTensor* t = gguf.find(name);
        if (!t) throw ShapeError(gguf.path + ": missing tensor '" + name + "', expected shape " + shape_str(shape));
        if (t->shape != shape)
          throw ShapeError(gguf.path + ": tensor '" + name + "': expected shape " + shape_str(shape) + ", found " +
                           shape_str(t->shape));
        taken[name] = true;
        Tensor values = dequantize_gguf_tensor(*t);
        if (row.slot == Slot::kQ) return un_permute_rotary_rows(values, config.num_attention_heads);
        if (row.slot == Slot::kK) return un_permute_rotary_rows(values, config.num_key_value_heads);
        return values;
      },
      gguf.path);
  if (unused) {
    unused->clear();
    for (const auto& [name, used] : taken)
      if (!used) unused->push_back(name);
  }
  return model;
}

LlamaModel random_llama(const LlamaConfig& config, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  return build_llama(
      config, config.tie_word_embeddings,
      [&](const LlamaTensorName&, int64_t, const Shape& shape) {
        Tensor t(shape);
        for (float& v : t.values) v = shape.size() == 1 ? 1.0f : normal(rng);
        return t;
      },
      "random");
}

namespace {

// rows of each head viewed as [2, HD/2] (HF) or [HD/2, 2] (llama.cpp): one is the other transposed.
Tensor transpose_head_halves(const Tensor& w, int64_t heads, bool to_interleaved) {
  const int64_t rows = w.dim(0), cols = w.dim(1), hd = rows / heads, half = hd / 2;
  Tensor out(w.shape);
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t s = 0; s < 2; ++s)
      for (int64_t i = 0; i < half; ++i) {
        const int64_t hf_row = h * hd + s * half + i, gguf_row = h * hd + 2 * i + s;
        const int64_t from = to_interleaved ? hf_row : gguf_row, to = to_interleaved ? gguf_row : hf_row;
        std::copy_n(w.data() + from * cols, cols, out.data() + to * cols);
      }
  return out;
}

}  // namespace

Tensor permute_rotary_rows(const Tensor& hf, int64_t heads) { return transpose_head_halves(hf, heads, true); }
Tensor un_permute_rotary_rows(const Tensor& gguf, int64_t heads) { return transpose_head_halves(gguf, heads, false); }

namespace {

// Every tensor of the model under its HF name, in the name table's order.
std::vector<TensorToWrite> stored_tensors(const LlamaModel& model, StoredTensors sink) {
  const LlamaWeights& w = model.weights;
  sink.table("model.embed_tokens", w.embed_tokens);
  for (size_t i = 0; i < w.layers.size(); ++i) {
    const LlamaLayerWeights& l = w.layers[i];
    sink.tensor(name_at(row_of(Slot::kInputNorm).hf, static_cast<int64_t>(i)), l.input_norm);
    sink.linear(l.qkv);
    sink.linear(l.attention_out);
    sink.tensor(name_at(row_of(Slot::kPostNorm).hf, static_cast<int64_t>(i)), l.post_attention_norm);
    sink.linear(l.gate_up);
    sink.linear(l.down);
  }
  sink.tensor(row_of(Slot::kFinalNorm).hf, w.final_norm);
  if (!w.tied_head) sink.linear(w.lm_head);
  return sink.take();
}

}  // namespace

std::vector<TensorToWrite> llama_checkpoint_tensors(const LlamaModel& model, DType dtype) {
  return stored_tensors(model, StoredTensors(StoredTensors::Kind::kCheckpoint, dtype));
}

std::vector<TensorToWrite> llama_container_tensors(const LlamaModel& model) {
  return stored_tensors(model, StoredTensors(StoredTensors::Kind::kContainer));
}

}  // namespace squish
