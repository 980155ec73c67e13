#include "prune/structured.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "core/error.h"

namespace squish {
namespace {

// The tensors of one layer a structure lives in, as fp32 arrays (a model's Linears dequantized, or
// a parameter buffer's views).
struct LayerTensors {
  const float* qkv_weight;           // [3A, H]
  const float* qkv_bias;             // [3A]
  const float* attention_out_weight; // [H, A]
  const float* intermediate_weight;  // [FF, H]
  const float* intermediate_bias;    // [FF]
  const float* output_weight;        // [H, FF]
};

struct LayerSizes {
  int64_t hidden, head_dim, heads, neurons;
  int64_t attention() const { return heads * head_dim; }
};

LayerSizes sizes_of(const BertConfig& c, int64_t layer) {
  return {c.hidden_size, c.head_dim(), c.heads_in(layer), c.intermediate_size_in(layer)};
}

// Σ term(a, b) over every parameter of head h, reading `a` and `b` at the same offsets.
template <class Term>
double head_sum(const LayerSizes& s, const LayerTensors& a, const LayerTensors& b, int64_t h, Term term) {
  const int64_t H = s.hidden, HD = s.head_dim, A = s.attention();
  double sum = 0.0;
  for (int64_t part = 0; part < 3; ++part)
    for (int64_t r = part * A + h * HD; r < part * A + (h + 1) * HD; ++r) {
      for (int64_t k = 0; k < H; ++k) sum += term(a.qkv_weight[r * H + k], b.qkv_weight[r * H + k]);
      sum += term(a.qkv_bias[r], b.qkv_bias[r]);
    }
  for (int64_t i = 0; i < H; ++i)
    for (int64_t col = h * HD; col < (h + 1) * HD; ++col)
      sum += term(a.attention_out_weight[i * A + col], b.attention_out_weight[i * A + col]);
  return sum;
}

// Σ term(a, b) over every parameter of FFN neuron j.
template <class Term>
double neuron_sum(const LayerSizes& s, const LayerTensors& a, const LayerTensors& b, int64_t j, Term term) {
  const int64_t H = s.hidden, FF = s.neurons;
  double sum = term(a.intermediate_bias[j], b.intermediate_bias[j]);
  for (int64_t k = 0; k < H; ++k) sum += term(a.intermediate_weight[j * H + k], b.intermediate_weight[j * H + k]);
  for (int64_t i = 0; i < H; ++i) sum += term(a.output_weight[i * FF + j], b.output_weight[i * FF + j]);
  return sum;
}

// Adds f(sum over the structure) to every head's and neuron's score of one layer.
template <class Term, class Finish>
void add_layer_scores(StructureScores& scores, int64_t layer, const LayerSizes& s, const LayerTensors& a,
                      const LayerTensors& b, Term term, Finish finish) {
  std::vector<double>& heads = scores.heads[static_cast<size_t>(layer)];
  std::vector<double>& neurons = scores.neurons[static_cast<size_t>(layer)];
  for (int64_t h = 0; h < s.heads; ++h) heads[static_cast<size_t>(h)] += finish(head_sum(s, a, b, h, term));
  for (int64_t j = 0; j < s.neurons; ++j) neurons[static_cast<size_t>(j)] += finish(neuron_sum(s, a, b, j, term));
}

void check_scores_fit(const StructureScores& scores, const BertConfig& c) {
  bool fits = static_cast<int64_t>(scores.heads.size()) == c.num_hidden_layers &&
              static_cast<int64_t>(scores.neurons.size()) == c.num_hidden_layers;
  for (int64_t l = 0; fits && l < c.num_hidden_layers; ++l)
    fits = static_cast<int64_t>(scores.heads[static_cast<size_t>(l)].size()) == c.heads_in(l) &&
           static_cast<int64_t>(scores.neurons[static_cast<size_t>(l)].size()) == c.intermediate_size_in(l);
  if (!fits)
    throw ShapeError("structure scores: sized for another model; expected " + std::to_string(c.num_hidden_layers) +
                     " layers with the config's per-layer heads and FFN neurons");
}

// The buffer's tensor `id`, checked to have `shape`.
const float* view(const ParameterBuffer& buffer, int id, const Shape& shape) {
  const ParameterTensor& t = buffer.layout().tensor(id);
  if (t.shape != shape)
    throw ShapeError("parameter " + t.name + ": expected shape " + shape_str(shape) + " for the config's layer sizes, found " +
                     shape_str(t.shape));
  return buffer.data(id);
}

LayerTensors parameter_tensors(const ParameterBuffer& buffer, const BertLayerParameterIds& ids, const LayerSizes& s) {
  const int64_t H = s.hidden, A = s.attention(), FF = s.neurons;
  return {view(buffer, ids.qkv_weight, {3 * A, H}),       view(buffer, ids.qkv_bias, {3 * A}),
          view(buffer, ids.attention_out_weight, {H, A}), view(buffer, ids.intermediate_weight, {FF, H}),
          view(buffer, ids.intermediate_bias, {FF}),      view(buffer, ids.output_weight, {H, FF})};
}

void check_keep_list(const std::vector<int64_t>& kept, int64_t available, int64_t layer, const char* what) {
  const std::string where = "structure keep list: layer " + std::to_string(layer) + " " + what;
  if (kept.empty()) throw ShapeError(where + ": keeps none; a layer keeps at least one");
  for (size_t i = 0; i < kept.size(); ++i) {
    if (kept[i] < 0 || kept[i] >= available)
      throw ShapeError(where + ": index " + std::to_string(kept[i]) + " outside [0, " + std::to_string(available) + ")");
    if (i > 0 && kept[i] <= kept[i - 1])
      throw ShapeError(where + ": indices must be ascending without repeats, found " + std::to_string(kept[i - 1]) +
                       " then " + std::to_string(kept[i]));
  }
}

// Rows of `w` [N, K] (or entries of a vector): each of `starts` gives `block` consecutive rows.
Tensor gather_rows(const Tensor& w, const std::vector<int64_t>& starts, int64_t block) {
  const int64_t K = w.shape.size() == 2 ? w.dim(1) : 1;
  Tensor out(w.shape.size() == 2 ? Shape{static_cast<int64_t>(starts.size()) * block, K}
                                 : Shape{static_cast<int64_t>(starts.size()) * block});
  float* dst = out.data();
  for (int64_t start : starts) dst = std::copy_n(w.data() + start * K, block * K, dst);
  return out;
}

// Columns of `w` [N, K]: each of `starts` gives `block` consecutive columns.
Tensor gather_columns(const Tensor& w, const std::vector<int64_t>& starts, int64_t block) {
  const int64_t N = w.dim(0), K = w.dim(1), kept = static_cast<int64_t>(starts.size()) * block;
  Tensor out({N, kept});
  for (int64_t i = 0; i < N; ++i) {
    float* dst = out.data() + i * kept;
    for (int64_t start : starts) dst = std::copy_n(w.data() + i * K + start, block, dst);
  }
  return out;
}

Linear with_weights(const Linear& l, const Tensor& weight, Tensor bias, std::vector<LinearPart> parts) {
  return make_linear(l.name, l.role, l.layer, weight, std::move(bias), std::move(parts));
}

// The layer's attention with only `kept` heads: Q, K and V each lose the other heads' rows, the
// attention output their columns.
void shrink_heads(BertLayerWeights& layer, const std::vector<int64_t>& kept, const LayerSizes& s) {
  const int64_t HD = s.head_dim, A = s.attention(), kept_rows = static_cast<int64_t>(kept.size()) * HD;
  std::vector<int64_t> qkv_starts, column_starts;
  for (int64_t part = 0; part < 3; ++part)
    for (int64_t h : kept) qkv_starts.push_back(part * A + h * HD);
  for (int64_t h : kept) column_starts.push_back(h * HD);
  std::vector<LinearPart> parts = layer.qkv.parts;
  for (LinearPart& p : parts) p.rows = kept_rows;
  layer.qkv = with_weights(layer.qkv, gather_rows(linear_dequantize(layer.qkv), qkv_starts, HD),
                           gather_rows(layer.qkv.bias, qkv_starts, HD), std::move(parts));
  layer.attention_out = with_weights(layer.attention_out,
                                     gather_columns(linear_dequantize(layer.attention_out), column_starts, HD),
                                     layer.attention_out.bias, layer.attention_out.parts);
}

// The layer's FFN with only `kept` neurons: intermediate rows, output columns.
void shrink_neurons(BertLayerWeights& layer, const std::vector<int64_t>& kept) {
  std::vector<LinearPart> parts = layer.intermediate.parts;
  parts.at(0).rows = static_cast<int64_t>(kept.size());
  layer.intermediate = with_weights(layer.intermediate, gather_rows(linear_dequantize(layer.intermediate), kept, 1),
                                    gather_rows(layer.intermediate.bias, kept, 1), std::move(parts));
  layer.output = with_weights(layer.output, gather_columns(linear_dequantize(layer.output), kept, 1),
                              layer.output.bias, layer.output.parts);
}

// Per-layer sizes in BertConfig's convention: empty when every layer has the uniform size.
std::vector<int64_t> layer_sizes(const std::vector<std::vector<int64_t>>& kept, int64_t uniform) {
  std::vector<int64_t> sizes;
  for (const auto& k : kept) sizes.push_back(static_cast<int64_t>(k.size()));
  if (std::all_of(sizes.begin(), sizes.end(), [&](int64_t n) { return n == uniform; })) sizes.clear();
  return sizes;
}

std::vector<std::vector<int64_t>> keep_all(const std::vector<std::vector<double>>& per_layer) {
  std::vector<std::vector<int64_t>> out;
  for (const auto& layer : per_layer) {
    std::vector<int64_t> all(layer.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
    out.push_back(std::move(all));
  }
  return out;
}

}  // namespace

StructureScores zero_scores(const BertConfig& c) {
  StructureScores s;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    s.heads.emplace_back(static_cast<size_t>(c.heads_in(l)), 0.0);
    s.neurons.emplace_back(static_cast<size_t>(c.intermediate_size_in(l)), 0.0);
  }
  return s;
}

std::vector<double> flat_scores(const StructureScores& scores) {
  std::vector<double> flat;
  for (const auto* part : {&scores.heads, &scores.neurons})
    for (const std::vector<double>& layer : *part) flat.insert(flat.end(), layer.begin(), layer.end());
  return flat;
}

void add_flat_scores(StructureScores& scores, std::span<const double> values) {
  const size_t expected = flat_scores(scores).size();
  if (values.size() != expected)
    throw ShapeError("structure scores: " + std::to_string(values.size()) + " values for " + std::to_string(expected) +
                     " scores");
  const double* next = values.data();
  for (auto* part : {&scores.heads, &scores.neurons})
    for (std::vector<double>& layer : *part)
      for (double& score : layer) score += *next++;
}

StructureScores magnitude_scores(const BertModel& model) {
  const BertConfig& c = model.config;
  StructureScores scores = zero_scores(c);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const BertLayerWeights& w = model.weights.layers[static_cast<size_t>(l)];
    const Tensor qkv = linear_dequantize(w.qkv), attention_out = linear_dequantize(w.attention_out);
    const Tensor intermediate = linear_dequantize(w.intermediate), output = linear_dequantize(w.output);
    const LayerTensors t{qkv.data(), w.qkv.bias.data(), attention_out.data(), intermediate.data(),
                         w.intermediate.bias.data(), output.data()};
    add_layer_scores(
        scores, l, sizes_of(c, l), t, t, [](float v, float) { return static_cast<double>(v) * v; },
        [](double squares) { return std::sqrt(squares); });
  }
  return scores;
}

void add_first_order_scores(StructureScores& scores, const BertParameters& p, const ParameterBuffer& grads) {
  const BertConfig& c = p.config;
  if (grads.floats() != p.values.floats())
    throw ShapeError("first-order scores: the gradient buffer has " + std::to_string(grads.floats()) +
                     " floats, the parameters " + std::to_string(p.values.floats()));
  if (scores.heads.empty() && scores.neurons.empty()) scores = zero_scores(c);
  check_scores_fit(scores, c);
  if (static_cast<int64_t>(p.ids.layers.size()) != c.num_hidden_layers)
    throw ShapeError("first-order scores: parameters list " + std::to_string(p.ids.layers.size()) +
                     " layers, the config " + std::to_string(c.num_hidden_layers));
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const LayerSizes s = sizes_of(c, l);
    const BertLayerParameterIds& ids = p.ids.layers[static_cast<size_t>(l)];
    add_layer_scores(
        scores, l, s, parameter_tensors(p.values, ids, s), parameter_tensors(grads, ids, s),
        [](float w, float g) { return static_cast<double>(w) * g; }, [](double dot) { return std::abs(dot); });
  }
}

int64_t structure_multiple(Structure which, int64_t head_size) {
  return which == Structure::kHeads ? kWidthGranule / std::gcd(kWidthGranule, head_size) : kWidthGranule;
}

StructureKeep select_structures(const StructureScores& scores, double fraction, Structure which, int64_t multiple) {
  if (!(fraction >= 0.0 && fraction <= 1.0))
    throw UsageError("structured pruning: the fraction to remove must be in [0, 1], found " + std::to_string(fraction));
  if (scores.heads.size() != scores.neurons.size())
    throw ShapeError("structure scores: " + std::to_string(scores.heads.size()) + " layers of head scores but " +
                     std::to_string(scores.neurons.size()) + " of neuron scores");
  const auto& per_layer = which == Structure::kHeads ? scores.heads : scores.neurons;
  const char* what = which == Structure::kHeads ? "head" : "neuron";

  struct Candidate {
    double score;
    int64_t layer, index;
  };
  std::vector<Candidate> candidates;
  std::vector<int64_t> remaining;
  for (size_t l = 0; l < per_layer.size(); ++l) {
    const std::vector<double>& layer = per_layer[l];
    if (layer.empty()) throw ShapeError("structure scores: layer " + std::to_string(l) + " has no " + what + " scores");
    double squares = 0.0;
    for (size_t i = 0; i < layer.size(); ++i) {
      if (!std::isfinite(layer[i]))
        throw DataError("structure scores: layer " + std::to_string(l) + " " + what + " " + std::to_string(i) +
                        " has a non-finite score " + std::to_string(layer[i]));
      squares += layer[i] * layer[i];
    }
    // A layer of all-zero scores stays all zero rather than dividing by zero.
    const double norm = std::sqrt(squares);
    for (size_t i = 0; i < layer.size(); ++i)
      candidates.push_back({norm > 0 ? layer[i] / norm : 0.0, static_cast<int64_t>(l), static_cast<int64_t>(i)});
    remaining.push_back(static_cast<int64_t>(layer.size()));
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    if (a.score != b.score) return a.score < b.score;
    return a.layer != b.layer ? a.layer < b.layer : a.index < b.index;
  });

  const int64_t target = std::llround(fraction * static_cast<double>(candidates.size()));
  std::vector<std::vector<bool>> removed;
  for (const auto& layer : per_layer) removed.emplace_back(layer.size(), false);
  int64_t count = 0;
  for (const Candidate& c : candidates) {
    if (count == target) break;
    if (remaining[static_cast<size_t>(c.layer)] == 1) continue;  // a layer's last one stays
    removed[static_cast<size_t>(c.layer)][static_cast<size_t>(c.index)] = true;
    --remaining[static_cast<size_t>(c.layer)];
    ++count;
  }

  if (multiple > 1) {
    // Per layer, in score order: the lowest-scored kept go first, the highest-scored removed come back first.
    for (size_t l = 0; l < per_layer.size(); ++l) {
      const int64_t size = static_cast<int64_t>(per_layer[l].size());
      const int64_t kept = remaining[l];
      const int64_t want = std::clamp((kept + multiple / 2) / multiple * multiple, std::min(multiple, size), size);
      std::vector<const Candidate*> layer;
      for (const Candidate& c : candidates)
        if (c.layer == static_cast<int64_t>(l)) layer.push_back(&c);
      int64_t k = kept;
      for (auto it = layer.begin(); it != layer.end() && k > want; ++it)  // lowest score first
        if (!removed[l][static_cast<size_t>((*it)->index)]) {
          removed[l][static_cast<size_t>((*it)->index)] = true;
          --k;
        }
      for (auto it = layer.rbegin(); it != layer.rend() && k < want; ++it)  // highest score first
        if (removed[l][static_cast<size_t>((*it)->index)]) {
          removed[l][static_cast<size_t>((*it)->index)] = false;
          ++k;
        }
    }
  }

  StructureKeep keep{keep_all(scores.heads), keep_all(scores.neurons)};
  auto& chosen = which == Structure::kHeads ? keep.heads : keep.neurons;
  for (size_t l = 0; l < chosen.size(); ++l)
    std::erase_if(chosen[l], [&](int64_t i) { return removed[l][static_cast<size_t>(i)]; });
  return keep;
}

StructureKeep keep_everything(const BertConfig& config) {
  const StructureScores all = zero_scores(config);
  return {keep_all(all.heads), keep_all(all.neurons)};
}

BertModel shrink_bert(const BertModel& model, const StructureKeep& keep) {
  const BertConfig& c = model.config;
  const auto layers = static_cast<size_t>(c.num_hidden_layers);
  if (keep.heads.size() != layers || keep.neurons.size() != layers)
    throw ShapeError("structure keep list: " + std::to_string(keep.heads.size()) + " layers of heads and " +
                     std::to_string(keep.neurons.size()) + " of neurons for a " + std::to_string(layers) +
                     "-layer model (" + model.source + ")");
  for (size_t l = 0; l < layers; ++l) {
    check_keep_list(keep.heads[l], c.heads_in(static_cast<int64_t>(l)), static_cast<int64_t>(l), "heads");
    check_keep_list(keep.neurons[l], c.intermediate_size_in(static_cast<int64_t>(l)), static_cast<int64_t>(l), "neurons");
  }
  BertModel out = model;
  out.config.layer_heads = layer_sizes(keep.heads, c.num_attention_heads);
  out.config.layer_intermediate_sizes = layer_sizes(keep.neurons, c.intermediate_size);
  for (size_t l = 0; l < layers; ++l) {
    const LayerSizes s = sizes_of(c, static_cast<int64_t>(l));
    BertLayerWeights& layer = out.weights.layers[l];
    // A list as long as the layer's count is every index (ascending, distinct, in range): nothing to cut.
    if (static_cast<int64_t>(keep.heads[l].size()) != s.heads) shrink_heads(layer, keep.heads[l], s);
    if (static_cast<int64_t>(keep.neurons[l].size()) != s.neurons) shrink_neurons(layer, keep.neurons[l]);
  }
  return out;
}

}  // namespace squish
