#include "model/bert/bert_parameters.h"

#include <algorithm>
#include <type_traits>

#include "core/error.h"

namespace squish {
namespace {

std::string layer_name(int layer, const char* rest) {
  return "encoder.layer." + std::to_string(layer) + "." + rest;
}

// Every Linear with the ids of its weight and bias, in forward order; Weights is BertWeights or
// const BertWeights.
template <class Weights, class L = std::conditional_t<std::is_const_v<Weights>, const Linear, Linear>>
struct LinearSlot {
  L* linear;
  int weight, bias;
};

template <class Weights>
std::vector<LinearSlot<Weights>> linear_slots(Weights& w, const BertParameterIds& ids) {
  std::vector<LinearSlot<Weights>> slots;
  for (size_t i = 0; i < w.layers.size(); ++i) {
    auto& l = w.layers[i];
    const BertLayerParameterIds& d = ids.layers[i];
    slots.push_back({&l.qkv, d.qkv_weight, d.qkv_bias});
    slots.push_back({&l.attention_out, d.attention_out_weight, d.attention_out_bias});
    slots.push_back({&l.intermediate, d.intermediate_weight, d.intermediate_bias});
    slots.push_back({&l.output, d.output_weight, d.output_bias});
  }
  slots.push_back({&w.pooler, ids.pooler_weight, ids.pooler_bias});
  slots.push_back({&w.classifier, ids.classifier_weight, ids.classifier_bias});
  return slots;
}

// (tensor, parameter id) pairs of every non-Linear tensor but the word embeddings.
template <class Weights, class T = std::conditional_t<std::is_const_v<Weights>, const Tensor, Tensor>>
std::vector<std::pair<T*, int>> plain_slots(Weights& w, const BertParameterIds& ids) {
  std::vector<std::pair<T*, int>> slots = {{&w.position_embeddings, ids.position_embeddings},
                                                {&w.token_type_embeddings, ids.token_type_embeddings},
                                                {&w.embeddings_ln_gamma, ids.embeddings_ln_gamma},
                                                {&w.embeddings_ln_beta, ids.embeddings_ln_beta}};
  for (size_t i = 0; i < w.layers.size(); ++i) {
    auto& l = w.layers[i];
    const BertLayerParameterIds& d = ids.layers[i];
    slots.insert(slots.end(), {{&l.attention_ln_gamma, d.attention_ln_gamma},
                               {&l.attention_ln_beta, d.attention_ln_beta},
                               {&l.output_ln_gamma, d.output_ln_gamma},
                               {&l.output_ln_beta, d.output_ln_beta}});
  }
  return slots;
}

void check_shape(const std::string& what, const Shape& have, const Shape& want) {
  if (have != want)
    throw ShapeError(what + ": expected " + shape_str(want) + ", found " + shape_str(have));
}

}  // namespace

std::shared_ptr<const ParameterLayout> bert_parameter_layout(const BertConfig& c, BertParameterIds& ids) {
  auto layout = std::make_shared<ParameterLayout>();
  const int64_t H = c.hidden_size, HD = c.head_dim();
  const auto add = [&](std::string name, Shape shape, ParameterKind kind, int layer = -1,
                       LinearRole role = LinearRole::kClassifier) {
    return layout->add({std::move(name), std::move(shape), 0, kind, layer, role});
  };
  const auto add_linear = [&](const std::string& name, int64_t n, int64_t k, int layer, LinearRole role, int& weight,
                              int& bias) {
    weight = add(name + ".weight", {n, k}, ParameterKind::kLinearWeight, layer, role);
    bias = add(name + ".bias", {n}, ParameterKind::kBias, layer, role);
  };
  ids.word_embeddings = add("embeddings.word_embeddings.weight", {c.vocab_size, H}, ParameterKind::kEmbedding);
  ids.position_embeddings =
      add("embeddings.position_embeddings.weight", {c.max_position_embeddings, H}, ParameterKind::kEmbedding);
  ids.token_type_embeddings =
      add("embeddings.token_type_embeddings.weight", {c.type_vocab_size, H}, ParameterKind::kEmbedding);
  ids.embeddings_ln_gamma = add("embeddings.LayerNorm.weight", {H}, ParameterKind::kLayerNorm);
  ids.embeddings_ln_beta = add("embeddings.LayerNorm.bias", {H}, ParameterKind::kLayerNorm);
  ids.layers.resize(static_cast<size_t>(c.num_hidden_layers));
  for (int i = 0; i < static_cast<int>(c.num_hidden_layers); ++i) {
    BertLayerParameterIds& d = ids.layers[static_cast<size_t>(i)];
    const int64_t HL = c.heads_in(i) * HD, FF = c.intermediate_size_in(i);
    add_linear(layer_name(i, "attention.self.qkv"), 3 * HL, H, i, LinearRole::kAttentionQkv, d.qkv_weight,
               d.qkv_bias);
    add_linear(layer_name(i, "attention.output.dense"), H, HL, i, LinearRole::kAttentionOut, d.attention_out_weight,
               d.attention_out_bias);
    d.attention_ln_gamma = add(layer_name(i, "attention.output.LayerNorm.weight"), {H}, ParameterKind::kLayerNorm, i);
    d.attention_ln_beta = add(layer_name(i, "attention.output.LayerNorm.bias"), {H}, ParameterKind::kLayerNorm, i);
    add_linear(layer_name(i, "intermediate.dense"), FF, H, i, LinearRole::kFfnIn, d.intermediate_weight,
               d.intermediate_bias);
    add_linear(layer_name(i, "output.dense"), H, FF, i, LinearRole::kFfnOut, d.output_weight, d.output_bias);
    d.output_ln_gamma = add(layer_name(i, "output.LayerNorm.weight"), {H}, ParameterKind::kLayerNorm, i);
    d.output_ln_beta = add(layer_name(i, "output.LayerNorm.bias"), {H}, ParameterKind::kLayerNorm, i);
  }
  add_linear("pooler.dense", H, H, -1, LinearRole::kPooler, ids.pooler_weight, ids.pooler_bias);
  add_linear("classifier", c.num_labels, H, -1, LinearRole::kClassifier, ids.classifier_weight, ids.classifier_bias);
  return layout;
}

BertParameters bert_parameters(const BertModel& model) {
  if (!model.weights.has_pooler || !model.weights.has_classifier)
    throw ConfigError(model.source + ": training needs a pooler and a classifier (architecture " +
                      model.config.architecture + ")");
  BertParameters p;
  p.config = model.config;
  p.values = ParameterBuffer(bert_parameter_layout(model.config, p.ids));
  const ParameterLayout& layout = p.values.layout();
  const auto copy_in = [&](const Tensor& t, int id) {
    check_shape(model.source + ": " + layout.tensor(id).name, t.shape, layout.tensor(id).shape);
    std::copy_n(t.data(), t.numel(), p.values.data(id));
  };
  copy_in(model.weights.word_embeddings.dequantize(), p.ids.word_embeddings);
  for (auto [tensor, id] : plain_slots(model.weights, p.ids)) copy_in(*tensor, id);
  for (const auto& s : linear_slots(model.weights, p.ids)) {
    copy_in(linear_dequantize(*s.linear), s.weight);
    copy_in(s.linear->bias, s.bias);
  }
  return p;
}

BertModel bert_model(const BertParameters& p, std::string source) {
  BertModel model;
  model.config = p.config;
  model.source = std::move(source);
  BertWeights& w = model.weights;
  w.layers.resize(static_cast<size_t>(p.config.num_hidden_layers));
  w.has_pooler = w.has_classifier = true;
  const ParameterLayout& layout = p.values.layout();
  const auto tensor_of = [&](int id) {
    Tensor t(layout.tensor(id).shape);
    std::copy_n(p.values.data(id), t.numel(), t.data());
    return t;
  };
  w.word_embeddings = EmbeddingTable::dense(tensor_of(p.ids.word_embeddings));
  for (auto [tensor, id] : plain_slots(w, p.ids)) *tensor = tensor_of(id);
  for (const auto& s : linear_slots(w, p.ids)) {
    const ParameterTensor& t = layout.tensor(s.weight);
    const std::string name = t.name.substr(0, t.name.size() - std::string_view(".weight").size());
    std::vector<LinearPart> parts;
    if (t.role == LinearRole::kAttentionQkv) {
      const std::string self = name.substr(0, name.size() - std::string_view("qkv").size());
      for (const char* module : {"query", "key", "value"}) parts.push_back({self + module, t.shape[0] / 3});
    }
    *s.linear = make_linear(name, t.role, t.layer, tensor_of(s.weight), tensor_of(s.bias), std::move(parts));
  }
  return model;
}

}  // namespace squish
