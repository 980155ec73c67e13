#include "model/bert/bert_checkpoint.h"

#include <functional>
#include <map>
#include <random>
#include <set>
#include <span>

#include "core/error.h"
#include "io/weights_file.h"
#include "model/bert/bert_config_file.h"
#include "model/bert/bert_tensor_table.h"
#include "model/common/linear_formats.h"
#include "model/common/planned_weights.h"
#include "model/common/stored_tensors.h"
#include "model/common/tensor_binder.h"

namespace squish {
namespace {

// Candidate spellings of one canonical name, in order of preference.
std::vector<std::string> name_variants(const std::string& canonical) {
  std::vector<std::string> names = {canonical};
  const std::string prefix = "bert.";
  if (canonical.rfind(prefix, 0) == 0) names.push_back(canonical.substr(prefix.size()));
  std::vector<std::string> old_style;
  for (const auto& n : names) {
    for (const auto& [modern, legacy] : {std::pair<std::string, std::string>{"LayerNorm.weight", "LayerNorm.gamma"},
                                         {"LayerNorm.bias", "LayerNorm.beta"}}) {
      const size_t pos = n.find(modern);
      if (pos != std::string::npos) old_style.push_back(n.substr(0, pos) + legacy + n.substr(pos + modern.size()));
    }
  }
  names.insert(names.end(), old_style.begin(), old_style.end());
  return names;
}

// The name a tensor is looked up by on load: HF's classifier layout, the one with most prefixes.
std::string canonical_name(const BertTensorInfo& info, int layer) {
  return (bert_tensor_has_prefix(info.scope) ? "bert." : "") + bert_tensor_name(info.pattern, layer);
}

bool scope_present(BertScope scope, const BertWeights& w) {
  switch (scope) {
    case BertScope::kEmbeddings:
    case BertScope::kLayer: return true;
    case BertScope::kPooler: return w.has_pooler;
    case BertScope::kClassifier: return w.has_classifier;
  }
  return false;
}

// Visits the table rows the model has, in checkpoint order: embeddings, each layer, pooler, classifier.
constexpr BertScope kAllScopes[] = {BertScope::kEmbeddings, BertScope::kLayer, BertScope::kPooler,
                                    BertScope::kClassifier};

void for_each_tensor(const BertConfig& c, const BertWeights& w,
                     const std::function<void(const BertTensorInfo&, int layer)>& visit,
                     std::span<const BertScope> scopes = kAllScopes) {
  for (BertScope scope : scopes) {
    if (!scope_present(scope, w)) continue;
    const int layers = scope == BertScope::kLayer ? static_cast<int>(c.num_hidden_layers) : 1;
    for (int i = 0; i < layers; ++i)
      for (const BertTensorInfo& info : bert_tensor_table())
        if (info.scope == scope) visit(info, scope == BertScope::kLayer ? i : -1);
  }
}

// Weights is BertWeights or const BertWeights.
template <class Weights>
auto& linear_of(Weights& w, Linear BertWeights::*linear, Linear BertLayerWeights::*layer_linear, int layer) {
  return layer_linear ? w.layers[static_cast<size_t>(layer)].*layer_linear : w.*linear;
}

const BertLinearInfo& linear_info_of(const BertTensorInfo& t) {
  for (const BertLinearInfo& l : bert_linear_table())
    if ((t.layer_linear && l.layer_linear == t.layer_linear) || (t.linear && l.linear == t.linear)) return l;
  throw Error(ExitCode::kInternal, "name table: no Linear for tensor " + std::string(t.pattern));
}

// Rows of the tensor table that feed one Linear (2 per part: weight and bias).
int table_rows_of(const BertLinearInfo& linear) {
  int n = 0;
  for (const BertTensorInfo& t : bert_tensor_table())
    if (t.linear || t.layer_linear) n += &linear_info_of(t) == &linear;
  return n;
}

using TensorSource = std::function<Tensor(const std::string& name, const Shape& shape)>;

// Normal(0, 0.02) weights like HF's init, LayerNorm 1/0, zero biases; deterministic for a seed.
TensorSource random_source(uint64_t seed) {
  struct Generator {
    std::mt19937_64 rng;
    std::normal_distribution<float> normal{0.0f, 0.02f};
  };
  auto g = std::make_shared<Generator>(Generator{std::mt19937_64(seed)});
  return [g](const std::string& name, const Shape& shape) {
    Tensor t(shape);
    const bool is_ln_gamma = name.find("LayerNorm.weight") != std::string::npos;
    const bool is_bias = shape.size() == 1 && !is_ln_gamma;
    for (float& v : t.values) v = is_ln_gamma ? 1.0f : (is_bias ? 0.0f : g->normal(g->rng));
    return t;
  };
}

// Builds the weights of each Linear of a squish container, which stores every Linear in its planned
// format, from the Linear's name, its HF modules under their canonical names, and its input width.
using PlannedLinearSource = std::function<std::shared_ptr<const LinearWeights>(
    const std::string& linear, const std::vector<LinearPart>& canonical_parts, int64_t in_features)>;
// The same for an embedding table stored in a non-float format (null: read it as floats).
using PlannedTableSource = std::function<std::optional<EmbeddingTable>(const std::string& canonical, const Shape& shape)>;

// Walks the name table over `scopes`, pulling each tensor through `get` (planned Linears' weights
// through `planned`); a Linear is made once all its parts are in.
void bind_tensors(BertModel& m, const TensorSource& get, std::span<const BertScope> scopes,
                  const PlannedLinearSource& planned = nullptr, const PlannedTableSource& planned_table = nullptr) {
  const BertConfig& c = m.config;
  BertWeights& w = m.weights;
  struct Staged {
    std::map<int, Tensor> weights, biases;   // by part
    std::map<int, LinearPart> parts, canonical_parts;
    int64_t in_features = 0;
  };
  std::map<std::pair<const BertLinearInfo*, int>, Staged> staged;
  // A Linear is packed as soon as its last part arrives, so the fp32 staging copies of one Linear,
  // not of the whole model, are alive at once.
  const auto finish = [&](const BertLinearInfo* info, int layer, Staged& s) {
    std::vector<Tensor> biases;
    std::vector<LinearPart> parts, canonical;
    for (auto& [part, p] : s.parts) {
      parts.push_back(p);
      canonical.push_back(s.canonical_parts.at(part));
      biases.push_back(std::move(s.biases.at(part)));
    }
    const std::string name = bert_tensor_name(info->name, layer);
    std::shared_ptr<const LinearWeights> weights = planned ? planned(name, canonical, s.in_features) : nullptr;
    if (!weights) {
      std::vector<Tensor> dense;
      for (auto& [part, t] : s.weights) dense.push_back(std::move(t));
      weights = dense_f32_weights(concat_rows(dense));
    }
    linear_of(w, info->linear, info->layer_linear, layer) =
        make_linear(name, info->role, layer, std::move(weights), concat_rows(biases), std::move(parts));
  };
  for_each_tensor(c, w, [&](const BertTensorInfo& info, int layer) {
    const std::string canonical = canonical_name(info, layer);
    const Shape shape = bert_tensor_shape(info, c, layer);
    if (info.tensor) {
      w.*info.tensor = get(canonical, shape);
      return;
    }
    if (info.embedding) {
      std::optional<EmbeddingTable> table = planned_table ? planned_table(canonical, shape) : std::nullopt;
      w.*info.embedding = table ? std::move(*table) : EmbeddingTable::dense(get(canonical, shape));
      return;
    }
    if (info.layer_tensor) {
      w.layers[static_cast<size_t>(layer)].*info.layer_tensor = get(canonical, shape);
      return;
    }
    const BertLinearInfo* linear = &linear_info_of(info);
    Staged& s = staged[{linear, layer}];
    if (info.param == LinearParam::kWeight) {
      constexpr std::string_view kSuffix = ".weight";
      const std::string name = bert_tensor_name(info.pattern, layer);
      s.parts[info.part] = {name.substr(0, name.size() - kSuffix.size()), shape[0]};
      s.canonical_parts[info.part] = {canonical.substr(0, canonical.size() - kSuffix.size()), shape[0]};
      s.in_features = shape[1];
      // A planned Linear's weights are read by its format when it is complete, not as floats here.
      if (!planned) s.weights[info.part] = get(canonical, shape);
    } else {
      s.biases[info.part] = get(canonical, shape);
    }
    if (static_cast<int>(s.parts.size() + s.biases.size()) == table_rows_of(*linear)) {
      finish(linear, layer, s);
      staged.erase({linear, layer});
    }
  }, scopes);
}

BertModel build_bert(const BertConfig& c, bool with_pooler, const TensorSource& get, std::string source,
                     const PlannedLinearSource& planned = nullptr, const PlannedTableSource& planned_table = nullptr) {
  BertModel m;
  m.config = c;
  m.source = std::move(source);
  m.weights.layers.resize(static_cast<size_t>(c.num_hidden_layers));
  m.weights.has_classifier = c.has_classifier();
  m.weights.has_pooler = with_pooler || m.weights.has_classifier;
  bind_tensors(m, get, kAllScopes, planned, planned_table);
  return m;
}

}  // namespace

BertModel bert_from_tensors(const BertConfig& config, const TensorMap& tensors, const std::string& file,
                            std::vector<std::string>* unused, const ContainerPlan* plan) {
  TensorBinder binder(tensors, file, name_variants);
  const bool stored_pooler = binder.has("bert.pooler.dense.weight");
  std::optional<PlannedWeights> stored;
  PlannedLinearSource planned;
  PlannedTableSource planned_table;
  if (plan) {
    stored.emplace(*plan, binder, file);
    planned = [&](const std::string& linear, const std::vector<LinearPart>& parts, int64_t k) {
      return stored->linear(linear, parts, k);
    };
    planned_table = [&](const std::string& canonical, const Shape& shape) {
      return stored->table(canonical.substr(0, canonical.size() - std::string_view(".weight").size()), shape[0],
                           shape[1]);
    };
  }
  BertModel model = build_bert(
      config, stored_pooler, [&](const std::string& name, const Shape& shape) { return binder.take(name, shape); }, file,
      planned, planned_table);
  if (stored) stored->check_all_read(config.architecture);
  if (plan) model.attention = plan->attention;
  if (unused) *unused = binder.unbound();
  return model;
}

BertModel load_bert_model(const std::string& model_dir) {
  const BertConfig config = parse_bert_config_file(model_dir + "/config.json");
  const WeightsFile weights = read_weights_file(find_weights_file(model_dir));
  return bert_from_tensors(config, weights.tensors, weights.paths.front());
}

BertModel random_bert(const BertConfig& config, uint64_t seed) {
  BertConfig c = config;
  // A random model always gets a head so it can be benchmarked end to end like a classifier.
  c.architecture = "BertForSequenceClassification";
  return build_bert(c, true, random_source(seed), "random");
}

void add_random_head(BertModel& model, uint64_t seed) {
  BertWeights& w = model.weights;
  if (w.has_classifier) return;
  std::vector<BertScope> scopes = {BertScope::kClassifier};
  if (!w.has_pooler) scopes.insert(scopes.begin(), BertScope::kPooler);
  w.has_pooler = w.has_classifier = true;
  bind_tensors(model, random_source(seed), scopes);
}

namespace {

// Every tensor of the model under its HF name ("bert."-prefixed for a *ForSequenceClassification
// model, as HF saves it), in the name table's order.
std::vector<TensorToWrite> stored_tensors(const BertModel& model, StoredTensors sink) {
  const bool prefixed = model.weights.has_classifier;
  const BertWeights& w = model.weights;
  for_each_tensor(model.config, w, [&](const BertTensorInfo& info, int layer) {
    const std::string name = (prefixed && bert_tensor_has_prefix(info.scope) ? "bert." : "") +
                             bert_tensor_name(info.pattern, layer);
    const std::string module = name.substr(0, name.rfind('.'));
    if (info.tensor || info.layer_tensor) {
      sink.tensor(name, info.tensor ? w.*info.tensor : w.layers[static_cast<size_t>(layer)].*info.layer_tensor);
      return;
    }
    if (info.embedding) {
      sink.table(module, w.*info.embedding);
      return;
    }
    const Linear& l = linear_of(w, info.linear, info.layer_linear, layer);
    int64_t first_row = 0;
    for (int p = 0; p < info.part; ++p) first_row += l.parts[static_cast<size_t>(p)].rows;
    const int64_t rows = l.parts[static_cast<size_t>(info.part)].rows;
    if (info.param == LinearParam::kWeight) {
      sink.linear_part(module, l, first_row, rows);
    } else {
      Tensor bias({rows});
      std::copy_n(l.bias.data() + first_row, rows, bias.data());
      sink.tensor(name, bias);
    }
  });
  return sink.take();
}

}  // namespace

std::vector<TensorToWrite> bert_checkpoint_tensors(const BertModel& model, DType dtype) {
  return stored_tensors(model, StoredTensors(StoredTensors::Kind::kCheckpoint, dtype));
}

std::vector<TensorToWrite> bert_container_tensors(const BertModel& model) {
  return stored_tensors(model, StoredTensors(StoredTensors::Kind::kContainer));
}

std::vector<std::pair<std::string, int64_t>> bert_parameter_groups(const BertConfig& config, bool with_pooler,
                                                                   bool with_classifier) {
  BertWeights presence;
  presence.has_classifier = with_classifier;
  presence.has_pooler = with_pooler || with_classifier;
  std::vector<std::pair<std::string, int64_t>> groups = {
      {"embeddings", 0}, {"attention", 0}, {"feed_forward", 0}, {"layer_norms", 0}};
  if (presence.has_pooler) groups.emplace_back("pooler", 0);
  if (presence.has_classifier) groups.emplace_back("classifier", 0);
  auto add = [&](const std::string& group, int64_t n) {
    for (auto& [name, count] : groups)
      if (name == group) count += n;
  };
  for_each_tensor(config, presence, [&](const BertTensorInfo& info, int layer) {
    const int64_t n = shape_numel(bert_tensor_shape(info, config, layer));
    switch (info.scope) {
      case BertScope::kEmbeddings: add("embeddings", n); break;
      case BertScope::kPooler: add("pooler", n); break;
      case BertScope::kClassifier: add("classifier", n); break;
      case BertScope::kLayer:
        if (info.layer_tensor) add("layer_norms", n);
        else add(linear_info_of(info).role == LinearRole::kAttentionQkv ||
                         linear_info_of(info).role == LinearRole::kAttentionOut
                     ? "attention"
                     : "feed_forward",
                 n);
        break;
    }
  });
  return groups;
}

std::vector<std::pair<std::string, int64_t>> BertModel::parameter_groups() const {
  return bert_parameter_groups(config, weights.has_pooler, weights.has_classifier);
}

int64_t BertModel::parameter_count() const { return total_parameters(parameter_groups()); }

namespace {

// Every Linear of the model in forward order; Weights is BertWeights or const BertWeights.
template <class Weights>
auto linears_of(Weights& w) {
  std::vector<decltype(&w.pooler)> out;
  for (auto& l : w.layers)
    for (auto* p : {&l.qkv, &l.attention_out, &l.intermediate, &l.output}) out.push_back(p);
  if (w.has_pooler) out.push_back(&w.pooler);
  if (w.has_classifier) out.push_back(&w.classifier);
  return out;
}

}  // namespace

std::vector<const Linear*> BertModel::linears() const { return linears_of(weights); }
std::vector<Linear*> BertModel::mutable_linears() { return linears_of(weights); }

int64_t BertModel::resident_bytes() const {
  const BertWeights& w = weights;
  int64_t floats = w.position_embeddings.numel() + w.token_type_embeddings.numel() +
                   w.embeddings_ln_gamma.numel() + w.embeddings_ln_beta.numel();
  for (const auto& l : w.layers)
    floats += l.attention_ln_gamma.numel() + l.attention_ln_beta.numel() + l.output_ln_gamma.numel() +
              l.output_ln_beta.numel();
  int64_t bytes = floats * static_cast<int64_t>(sizeof(float)) + w.word_embeddings.bytes();
  for (const Linear* l : linears()) bytes += linear_bytes(*l);
  return bytes;
}

}  // namespace squish
