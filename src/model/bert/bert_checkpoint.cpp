#include "model/bert/bert_checkpoint.h"

#include <functional>
#include <random>
#include <set>

#include "core/error.h"
#include "core/file_util.h"
#include "io/hf_config.h"
#include "io/safetensors.h"
#include "io/torch_zip.h"

namespace squish {
namespace {

// One row of the name table: a HF tensor name (with {i} for the layer index) and its expected shape.
struct TensorSpec {
  std::string name;
  Shape shape;
};

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

class Binder {
 public:
  Binder(const TensorMap& tensors, std::string file) : tensors_(tensors), file_(std::move(file)) {}

  Tensor take(const TensorSpec& spec) {
    const RawTensor* found = nullptr;
    for (const auto& name : name_variants(spec.name)) {
      if (auto it = tensors_.find(name); it != tensors_.end()) {
        found = &it->second;
        bound_.insert(it->first);
        break;
      }
    }
    if (!found)
      throw ShapeError(file_ + ": missing tensor '" + spec.name + "', expected shape " + shape_str(spec.shape));
    if (found->shape != spec.shape)
      throw ShapeError(file_ + ": tensor '" + spec.name + "': expected shape " + shape_str(spec.shape) + ", found " +
                       shape_str(found->shape));
    const DType t = found->dtype;
    if (t != DType::kF32 && t != DType::kF16 && t != DType::kBF16 && t != DType::kF64)
      throw FormatError(file_ + ": tensor '" + spec.name + "': expected a float dtype (F32, F16, BF16), found " +
                        std::string(dtype_name(t)));
    Tensor out(spec.shape);
    convert_to_f32(out.data(), found->data, t, static_cast<size_t>(out.numel()));
    return out;
  }

  // Stored tensors the architecture did not take (an MLM head, position_ids buffers, ...).
  std::vector<std::string> unbound() const {
    std::vector<std::string> out;
    for (const auto& [name, t] : tensors_)
      if (!bound_.count(name)) out.push_back(name);
    return out;
  }

 private:
  const TensorMap& tensors_;
  std::string file_;
  std::set<std::string> bound_;
};

std::string layer_name(int64_t i, const std::string& rest) {
  return "bert.encoder.layer." + std::to_string(i) + "." + rest;
}

Tensor concat_rows(const std::vector<const Tensor*>& parts) {
  Shape shape = parts[0]->shape;
  shape[0] = 0;
  for (const Tensor* p : parts) shape[0] += p->dim(0);
  Tensor out(shape);
  float* dst = out.data();
  for (const Tensor* p : parts) dst = std::copy(p->values.begin(), p->values.end(), dst);
  return out;
}

// Walks the name table, pulling each tensor through `get` (from a checkpoint or a random source).
BertModel build_bert(const BertConfig& c, const std::function<Tensor(const TensorSpec&)>& get, std::string source) {
  const int64_t H = c.hidden_size, FF = c.intermediate_size;
  BertModel m;
  m.config = c;
  m.source = std::move(source);
  BertWeights& w = m.weights;
  w.word_embeddings = get({"bert.embeddings.word_embeddings.weight", {c.vocab_size, H}});
  w.position_embeddings = get({"bert.embeddings.position_embeddings.weight", {c.max_position_embeddings, H}});
  w.token_type_embeddings = get({"bert.embeddings.token_type_embeddings.weight", {c.type_vocab_size, H}});
  w.embeddings_ln_gamma = get({"bert.embeddings.LayerNorm.weight", {H}});
  w.embeddings_ln_beta = get({"bert.embeddings.LayerNorm.bias", {H}});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    BertLayerWeights l;
    const Tensor qw = get({layer_name(i, "attention.self.query.weight"), {H, H}});
    const Tensor kw = get({layer_name(i, "attention.self.key.weight"), {H, H}});
    const Tensor vw = get({layer_name(i, "attention.self.value.weight"), {H, H}});
    const Tensor qb = get({layer_name(i, "attention.self.query.bias"), {H}});
    const Tensor kb = get({layer_name(i, "attention.self.key.bias"), {H}});
    const Tensor vb = get({layer_name(i, "attention.self.value.bias"), {H}});
    l.qkv = make_linear(concat_rows({&qw, &kw, &vw}), concat_rows({&qb, &kb, &vb}));
    l.attention_out = make_linear(get({layer_name(i, "attention.output.dense.weight"), {H, H}}),
                                  get({layer_name(i, "attention.output.dense.bias"), {H}}));
    l.attention_ln_gamma = get({layer_name(i, "attention.output.LayerNorm.weight"), {H}});
    l.attention_ln_beta = get({layer_name(i, "attention.output.LayerNorm.bias"), {H}});
    l.intermediate = make_linear(get({layer_name(i, "intermediate.dense.weight"), {FF, H}}),
                                 get({layer_name(i, "intermediate.dense.bias"), {FF}}));
    l.output = make_linear(get({layer_name(i, "output.dense.weight"), {H, FF}}),
                           get({layer_name(i, "output.dense.bias"), {H}}));
    l.output_ln_gamma = get({layer_name(i, "output.LayerNorm.weight"), {H}});
    l.output_ln_beta = get({layer_name(i, "output.LayerNorm.bias"), {H}});
    w.layers.push_back(std::move(l));
  }
  w.has_classifier = c.has_classifier();
  if (w.has_classifier) {
    w.pooler = make_linear(get({"bert.pooler.dense.weight", {H, H}}), get({"bert.pooler.dense.bias", {H}}));
    w.classifier = make_linear(get({"classifier.weight", {c.num_labels, H}}), get({"classifier.bias", {c.num_labels}}));
  }
  return m;
}

}  // namespace

std::string find_weights_file(const std::string& model_dir) {
  for (const char* name : {"model.safetensors", "pytorch_model.bin"}) {
    const std::string path = model_dir + "/" + name;
    if (file_exists(path)) return path;
  }
  throw IoError(model_dir + ": no weights found (expected model.safetensors or pytorch_model.bin)");
}

TensorMap read_weights_file(const std::string& path) {
  return path.ends_with(".safetensors") ? read_safetensors(path) : read_torch_zip(path);
}

BertModel bert_from_tensors(const BertConfig& config, const TensorMap& tensors, const std::string& file,
                            std::vector<std::string>* unused) {
  Binder binder(tensors, file);
  BertModel model = build_bert(config, [&](const TensorSpec& s) { return binder.take(s); }, file);
  if (unused) *unused = binder.unbound();
  return model;
}

BertModel load_bert_model(const std::string& model_dir) {
  const BertConfig config = parse_bert_config_file(model_dir + "/config.json");
  const std::string file = find_weights_file(model_dir);
  return bert_from_tensors(config, read_weights_file(file), file);
}

BertModel random_bert(const BertConfig& config, uint64_t seed) {
  BertConfig c = config;
  // A random model always gets a head so it can be benchmarked end to end like a classifier.
  c.architecture = "BertForSequenceClassification";
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  return build_bert(
      c,
      [&](const TensorSpec& s) {
        Tensor t(s.shape);
        const bool is_ln_gamma = s.name.find("LayerNorm.weight") != std::string::npos;
        const bool is_bias = s.shape.size() == 1 && !is_ln_gamma;
        for (float& v : t.values) v = is_ln_gamma ? 1.0f : (is_bias ? 0.0f : normal(rng));
        return t;
      },
      "random");
}

std::vector<std::pair<std::string, int64_t>> BertModel::parameter_groups() const {
  const BertWeights& w = weights;
  auto linear = [](const Linear& l) { return l.weight.numel() + l.bias.numel(); };
  int64_t attention = 0, ffn = 0, norms = 0;
  for (const auto& l : w.layers) {
    attention += linear(l.qkv) + linear(l.attention_out);
    ffn += linear(l.intermediate) + linear(l.output);
    norms += l.attention_ln_gamma.numel() + l.attention_ln_beta.numel() + l.output_ln_gamma.numel() +
             l.output_ln_beta.numel();
  }
  const int64_t embeddings = w.word_embeddings.numel() + w.position_embeddings.numel() +
                             w.token_type_embeddings.numel() + w.embeddings_ln_gamma.numel() +
                             w.embeddings_ln_beta.numel();
  std::vector<std::pair<std::string, int64_t>> groups = {
      {"embeddings", embeddings}, {"attention", attention}, {"feed_forward", ffn}, {"layer_norms", norms}};
  if (w.has_classifier) {
    groups.emplace_back("pooler", linear(w.pooler));
    groups.emplace_back("classifier", linear(w.classifier));
  }
  return groups;
}

int64_t BertModel::parameter_count() const {
  int64_t n = 0;
  for (const auto& [name, count] : parameter_groups()) n += count;
  return n;
}

}  // namespace squish
