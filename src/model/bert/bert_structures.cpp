#include "model/bert/bert_structures.h"

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
  const float* qkv_weight;            // [3A, H]
  const float* qkv_bias;              // [3A]
  const float* attention_out_weight;  // [H, A]
  const float* intermediate_weight;   // [FF, H]
  const float* intermediate_bias;     // [FF]
  const float* output_weight;         // [H, FF]
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
    throw ShapeError("parameter " + t.name + ": expected shape " + shape_str(shape) +
                     " for the config's layer sizes, found " + shape_str(t.shape));
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
      throw ShapeError(where + ": index " + std::to_string(kept[i]) + " outside [0, " + std::to_string(available) +
                       ")");
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
  layer.attention_out =
      with_weights(layer.attention_out, gather_columns(linear_dequantize(layer.attention_out), column_starts, HD),
                   layer.attention_out.bias, layer.attention_out.parts);
}

// The layer's FFN with only `kept` neurons: intermediate rows, output columns.
void shrink_neurons(BertLayerWeights& layer, const std::vector<int64_t>& kept) {
  std::vector<LinearPart> parts = layer.intermediate.parts;
  parts.at(0).rows = static_cast<int64_t>(kept.size());
  layer.intermediate = with_weights(layer.intermediate, gather_rows(linear_dequantize(layer.intermediate), kept, 1),
                                    gather_rows(layer.intermediate.bias, kept, 1), std::move(parts));
  layer.output = with_weights(layer.output, gather_columns(linear_dequantize(layer.output), kept, 1), layer.output.bias,
                              layer.output.parts);
}

// Per-layer sizes in BertConfig's convention: empty when every layer has the uniform size.
std::vector<int64_t> layer_sizes(const std::vector<std::vector<int64_t>>& kept, int64_t uniform) {
  std::vector<int64_t> sizes;
  for (const auto& k : kept) sizes.push_back(static_cast<int64_t>(k.size()));
  if (std::all_of(sizes.begin(), sizes.end(), [&](int64_t n) { return n == uniform; })) sizes.clear();
  return sizes;
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

StructureScores magnitude_scores(const BertModel& model) {
  const BertConfig& c = model.config;
  StructureScores scores = zero_scores(c);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const BertLayerWeights& w = model.weights.layers[static_cast<size_t>(l)];
    const Tensor qkv = linear_dequantize(w.qkv), attention_out = linear_dequantize(w.attention_out);
    const Tensor intermediate = linear_dequantize(w.intermediate), output = linear_dequantize(w.output);
    const LayerTensors t{qkv.data(),          w.qkv.bias.data(),          attention_out.data(),
                         intermediate.data(), w.intermediate.bias.data(), output.data()};
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

BertModel shrink_bert(const BertModel& model, const StructureKeep& keep) {
  const BertConfig& c = model.config;
  const auto layers = static_cast<size_t>(c.num_hidden_layers);
  if (keep.heads.size() != layers || keep.neurons.size() != layers)
    throw ShapeError("structure keep list: " + std::to_string(keep.heads.size()) + " layers of heads and " +
                     std::to_string(keep.neurons.size()) + " of neurons for a " + std::to_string(layers) +
                     "-layer model (" + model.source + ")");
  for (size_t l = 0; l < layers; ++l) {
    check_keep_list(keep.heads[l], c.heads_in(static_cast<int64_t>(l)), static_cast<int64_t>(l), "heads");
    check_keep_list(keep.neurons[l], c.intermediate_size_in(static_cast<int64_t>(l)), static_cast<int64_t>(l),
                    "neurons");
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
