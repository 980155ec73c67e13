#include "model/opt/opt_checkpoint.h"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string_view>

#include "core/error.h"
#include "model/common/planned_weights.h"
#include "model/common/stored_tensors.h"
#include "model/common/tensor_binder.h"

namespace squish {
namespace {

// Which weight a name-table row fills, and for a fused Linear, which part.
enum class Slot { kTokens, kPositions, kAttentionNorm, kQ, kK, kV, kOut, kFfnNorm, kFc1, kFc2, kFinalNorm, kLmHead };

struct OptModuleName {
  Slot slot;
  const char* hf;     // the HF module, "{}" the layer index; its tensors are ".weight" (and ".bias")
  const char* group;  // the parameter group it counts in
  bool bias;
};

constexpr OptModuleName kNames[] = {
    {Slot::kTokens, "model.decoder.embed_tokens", "embeddings", false},
    {Slot::kPositions, "model.decoder.embed_positions", "embeddings", false},
    {Slot::kAttentionNorm, "model.decoder.layers.{}.self_attn_layer_norm", "norms", true},
    {Slot::kQ, "model.decoder.layers.{}.self_attn.q_proj", "attention", true},
    {Slot::kK, "model.decoder.layers.{}.self_attn.k_proj", "attention", true},
    {Slot::kV, "model.decoder.layers.{}.self_attn.v_proj", "attention", true},
    {Slot::kOut, "model.decoder.layers.{}.self_attn.out_proj", "attention", true},
    {Slot::kFfnNorm, "model.decoder.layers.{}.final_layer_norm", "norms", true},
    {Slot::kFc1, "model.decoder.layers.{}.fc1", "feed_forward", true},
    {Slot::kFc2, "model.decoder.layers.{}.fc2", "feed_forward", true},
    {Slot::kFinalNorm, "model.decoder.final_layer_norm", "norms", true},
    {Slot::kLmHead, "lm_head", "lm_head", false},
};
constexpr const char* kGroups[] = {"embeddings", "attention", "feed_forward", "norms", "lm_head"};

enum class Param { kWeight, kBias };

const OptModuleName& row_of(Slot slot) {
  return *std::find_if(std::begin(kNames), std::end(kNames), [&](const OptModuleName& r) { return r.slot == slot; });
}

bool per_layer(const OptModuleName& row) { return std::string_view(row.hf).find("{}") != std::string_view::npos; }

std::string module_name(Slot slot, int64_t layer) {
  std::string s = row_of(slot).hf;
  const size_t at = s.find("{}");
  return at == std::string::npos ? s : s.replace(at, 2, std::to_string(layer));
}

std::string tensor_name(Slot slot, int64_t layer, Param param) {
  return module_name(slot, layer) + (param == Param::kWeight ? ".weight" : ".bias");
}

// The shape of a module's ".weight"; its ".bias" has the first dimension.
Shape shape_of(Slot slot, const OptConfig& c) {
  const int64_t H = c.hidden_size;
  switch (slot) {
    case Slot::kTokens:
    case Slot::kLmHead: return {c.vocab_size, H};
    case Slot::kPositions: return {c.max_position_embeddings + OptConfig::kPositionOffset, H};
    case Slot::kAttentionNorm:
    case Slot::kFfnNorm:
    case Slot::kFinalNorm: return {H};
    case Slot::kQ:
    case Slot::kK:
    case Slot::kV:
    case Slot::kOut: return {H, H};
    case Slot::kFc1: return {c.ffn_dim, H};
    case Slot::kFc2: return {H, c.ffn_dim};
  }
  return {};
}

Shape shape_of(Slot slot, Param param, const OptConfig& c) {
  const Shape weight = shape_of(slot, c);
  return param == Param::kWeight ? weight : Shape{weight[0]};
}

// A tensor by its HF name; the shape is the table's.
using TensorSource = std::function<Tensor(Param param, const std::string& name, const Shape& shape)>;

// With `planned` (a squish container), Linears and the token table are read in their planned formats.
OptModel build_opt(const OptConfig& c, const TensorSource& get, std::string source, PlannedWeights* planned = nullptr) {
  auto tensor = [&](Slot slot, int64_t layer, Param param) {
    return get(param, tensor_name(slot, layer, param), shape_of(slot, param, c));
  };
  auto norm = [&](Slot slot, int64_t layer) {
    return OptLayerNorm{tensor(slot, layer, Param::kWeight), tensor(slot, layer, Param::kBias)};
  };
  // A Linear of the given slots, its parts named by their HF modules.
  auto linear = [&](const std::string& name, LinearRole role, int64_t layer, std::initializer_list<Slot> slots) {
    std::vector<Tensor> weights, biases;
    std::vector<LinearPart> parts;
    for (Slot slot : slots) {
      if (!planned) weights.push_back(tensor(slot, layer, Param::kWeight));
      if (row_of(slot).bias) biases.push_back(tensor(slot, layer, Param::kBias));
      parts.push_back({module_name(slot, layer), shape_of(slot, c)[0]});
    }
    Tensor bias = biases.empty() ? Tensor() : concat_rows(biases);
    if (planned) {
      std::shared_ptr<const LinearWeights> stored = planned->linear(name, parts, shape_of(*slots.begin(), c)[1]);
      return make_linear(name, role, static_cast<int>(layer), std::move(stored), std::move(bias), std::move(parts));
    }
    return make_linear(name, role, static_cast<int>(layer), concat_rows(weights), std::move(bias), std::move(parts));
  };
  OptModel m;
  m.config = c;
  m.source = std::move(source);
  OptWeights& w = m.weights;
  const Shape tokens = shape_of(Slot::kTokens, c);
  std::optional<EmbeddingTable> table =
      planned ? planned->table(module_name(Slot::kTokens, -1), tokens[0], tokens[1]) : std::nullopt;
  w.embed_tokens = table ? std::move(*table) : EmbeddingTable::dense(tensor(Slot::kTokens, -1, Param::kWeight));
  w.embed_positions = tensor(Slot::kPositions, -1, Param::kWeight);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string prefix = "model.decoder.layers." + std::to_string(i);
    OptLayerWeights l;
    l.attention_norm = norm(Slot::kAttentionNorm, i);
    l.qkv = linear(prefix + ".self_attn.qkv_proj", LinearRole::kAttentionQkv, i, {Slot::kQ, Slot::kK, Slot::kV});
    l.attention_out = linear(module_name(Slot::kOut, i), LinearRole::kAttentionOut, i, {Slot::kOut});
    l.ffn_norm = norm(Slot::kFfnNorm, i);
    l.fc1 = linear(module_name(Slot::kFc1, i), LinearRole::kFfnIn, i, {Slot::kFc1});
    l.fc2 = linear(module_name(Slot::kFc2, i), LinearRole::kFfnOut, i, {Slot::kFc2});
    w.layers.push_back(std::move(l));
  }
  w.final_norm = norm(Slot::kFinalNorm, -1);
  if (!c.tie_word_embeddings) w.lm_head = linear("lm_head", LinearRole::kLmHead, -1, {Slot::kLmHead});
  return m;
}

}  // namespace

OptModel opt_from_tensors(const OptConfig& config, const TensorMap& tensors, const std::string& file,
                          std::vector<std::string>* unused, const ContainerPlan* plan) {
  // facebook's checkpoints store an OPTModel's names ("decoder.layers.0..."); transformers saves
  // an OPTForCausalLM's ("model.decoder.layers.0...").
  TensorBinder binder(tensors, file, [](const std::string& name) {
    std::vector<std::string> spellings = {name};
    if (name.rfind("model.", 0) == 0) spellings.push_back(name.substr(std::string_view("model.").size()));
    return spellings;
  });
  std::optional<PlannedWeights> planned;
  if (plan) planned.emplace(*plan, binder, file);
  OptModel model = build_opt(
      config, [&](Param, const std::string& name, const Shape& shape) { return binder.take(name, shape); }, file,
      planned ? &*planned : nullptr);
  if (planned) planned->check_all_read(config.architecture);
  if (plan) {
    model.attention = plan->attention;
    apply_tied_head_plan(*plan, config.tie_word_embeddings, model.weights.embed_tokens, file);
  }
  if (unused) *unused = binder.unbound();
  return model;
}

OptModel random_opt(const OptConfig& config, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  return build_opt(
      config,
      [&](Param param, const std::string&, const Shape& shape) {
        Tensor t(shape);
        const bool norm_weight = shape.size() == 1 && param == Param::kWeight;  // only LayerNorms have 1-d weights
        for (float& v : t.values) v = norm_weight ? 1.0f : (param == Param::kBias ? 0.0f : normal(rng));
        return t;
      },
      "random");
}

ParameterGroups opt_parameter_groups(const OptConfig& c) {
  std::map<std::string_view, int64_t> counts;
  for (const OptModuleName& row : kNames) {
    if (row.slot == Slot::kLmHead && c.tie_word_embeddings) continue;
    const Shape shape = shape_of(row.slot, c);
    const int64_t n = shape_numel(shape) + (row.bias ? shape[0] : 0);
    counts[row.group] += per_layer(row) ? n * c.num_hidden_layers : n;
  }
  ParameterGroups groups;
  for (const char* group : kGroups)
    if (counts.count(group)) groups.emplace_back(group, counts[group]);
  return groups;
}

namespace {

// Every tensor of the model under its HF name, in the name table's order.
std::vector<TensorToWrite> stored_tensors(const OptModel& model, StoredTensors sink) {
  const OptWeights& w = model.weights;
  auto norm = [&](Slot slot, int64_t layer, const OptLayerNorm& n) {
    sink.tensor(tensor_name(slot, layer, Param::kWeight), n.weight);
    sink.tensor(tensor_name(slot, layer, Param::kBias), n.bias);
  };
  sink.table(module_name(Slot::kTokens, -1), w.embed_tokens);
  sink.tensor(tensor_name(Slot::kPositions, -1, Param::kWeight), w.embed_positions);
  for (size_t i = 0; i < w.layers.size(); ++i) {
    const OptLayerWeights& l = w.layers[i];
    norm(Slot::kAttentionNorm, static_cast<int64_t>(i), l.attention_norm);
    sink.linear(l.qkv);
    sink.linear(l.attention_out);
    norm(Slot::kFfnNorm, static_cast<int64_t>(i), l.ffn_norm);
    sink.linear(l.fc1);
    sink.linear(l.fc2);
  }
  norm(Slot::kFinalNorm, -1, w.final_norm);
  if (!model.config.tie_word_embeddings) sink.linear(w.lm_head);
  return sink.take();
}

}  // namespace

std::vector<TensorToWrite> opt_checkpoint_tensors(const OptModel& model, DType dtype) {
  return stored_tensors(model, StoredTensors(StoredTensors::Kind::kCheckpoint, dtype));
}

std::vector<TensorToWrite> opt_container_tensors(const OptModel& model) {
  return stored_tensors(model, StoredTensors(StoredTensors::Kind::kContainer));
}

}  // namespace squish
