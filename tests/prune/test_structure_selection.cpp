// Choosing heads and FFN neurons to remove: the scores (magnitude from a model, first-order from a
// parameter buffer and its gradient) against sums written out independently over masks of each
// structure, and the global selection's counts, per-layer normalisation, ties and last-one rule.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "core/error.h"
#include "model/bert/bert_config_file.h"
#include "io/safetensors.h"
#include "model/bert/bert_checkpoint.h"
#include "prune/structured.h"
#include "test_paths.h"

namespace squish {
namespace {

StructureScores heads_only(std::vector<std::vector<double>> heads) {
  StructureScores s;
  s.heads = std::move(heads);
  s.neurons.assign(s.heads.size(), {1.0, 2.0});
  return s;
}

using Keep = std::vector<std::vector<int64_t>>;

TEST(StructureSelection, RemovesTheGloballyLowestAfterPerLayerNormalisation) {
  // Layer 1 is layer 0 times 10: raw scores would strip layer 0 first; normalised, they interleave.
  const StructureScores s = heads_only({{1, 5, 3, 7}, {10, 50, 30, 70}});
  EXPECT_EQ(select_structures(s, 0.5, Structure::kHeads).heads, (Keep{{1, 3}, {1, 3}}));
  // The other structure is kept whole.
  EXPECT_EQ(select_structures(s, 0.5, Structure::kHeads).neurons, (Keep{{0, 1}, {0, 1}}));
  EXPECT_EQ(select_structures(s, 0.0, Structure::kHeads).heads, (Keep{{0, 1, 2, 3}, {0, 1, 2, 3}}));
}

TEST(StructureSelection, EqualNormalisedScoresGoInLayerThenIndexOrder) {
  // Scaling by 4 is exact, so both layers' normalised scores are equal bit for bit.
  const StructureScores s = heads_only({{4, 8, 12, 16}, {1, 2, 3, 4}});
  EXPECT_EQ(select_structures(s, 1.0 / 8, Structure::kHeads).heads, (Keep{{1, 2, 3}, {0, 1, 2, 3}}));
  EXPECT_EQ(select_structures(s, 3.0 / 8, Structure::kHeads).heads, (Keep{{2, 3}, {1, 2, 3}}));
  // Within a layer, equal scores go lowest index first.
  EXPECT_EQ(select_structures(heads_only({{2, 2, 2}}), 1.0 / 3, Structure::kHeads).heads, (Keep{{1, 2}}));
}

TEST(StructureSelection, NeverRemovesALayersLastOne) {
  const StructureScores s = heads_only({{5, 6}, {0.1, 0.2}, {3}});
  // round(1.0 · 5) = 5 asked; each layer keeps its best, so only 2 go.
  EXPECT_EQ(select_structures(s, 1.0, Structure::kHeads).heads, (Keep{{1}, {1}, {0}}));
  // Normalised, layer 1's four heads (0.5 each) are below layer 0's (0.70707, 0.70714); its last is
  // skipped and the count is made up from layer 0.
  EXPECT_EQ(select_structures(heads_only({{1, 1.0001}, {1, 1, 1, 1}}), 4.0 / 6, Structure::kHeads).heads,
            (Keep{{1}, {3}}));
}

TEST(StructureSelection, CountIsRoundedFractionOfAllLayers) {
  StructureScores s;
  s.heads.assign(3, {1.0});
  s.neurons = {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}};
  auto removed = [&](double fraction) {
    int64_t n = 0;
    for (const auto& layer : select_structures(s, fraction, Structure::kNeurons).neurons) n += 3 - static_cast<int64_t>(layer.size());
    return n;
  };
  EXPECT_EQ(removed(0.5), 5);   // round(4.5), half away from zero
  EXPECT_EQ(removed(0.3), 3);   // round(2.7)
  EXPECT_EQ(removed(0.05), 0);  // round(0.45)
  EXPECT_EQ(select_structures(s, 0.5, Structure::kNeurons).heads, (Keep{{0}, {0}, {0}}));
}

TEST(StructureSelection, LayersKeepAMultipleByScore) {
  StructureScores s;
  s.heads.assign(2, {1.0});
  // Layer 0 scores rise with the index, layer 1 falls; normalised, the global order interleaves them.
  s.neurons = {{1, 2, 3, 4, 5, 6, 7, 8}, {8, 7, 6, 5, 4, 3, 2, 1}};
  // Without a multiple 0.25 removes 4: the two lowest of each layer. With 4, each layer's 6 rounds to
  // the nearest multiple, 8 (the two removed come back).
  EXPECT_EQ(select_structures(s, 0.25, Structure::kNeurons).neurons, (Keep{{2, 3, 4, 5, 6, 7}, {0, 1, 2, 3, 4, 5}}));
  EXPECT_EQ(select_structures(s, 0.25, Structure::kNeurons, 4).neurons,
            (Keep{{0, 1, 2, 3, 4, 5, 6, 7}, {0, 1, 2, 3, 4, 5, 6, 7}}));
  // 0.5 leaves 4 a layer: already a multiple. 0.625 leaves 3 → 4, the highest-scored removed one back.
  EXPECT_EQ(select_structures(s, 0.5, Structure::kNeurons, 4).neurons, (Keep{{4, 5, 6, 7}, {0, 1, 2, 3}}));
  EXPECT_EQ(select_structures(s, 0.625, Structure::kNeurons, 4).neurons, (Keep{{4, 5, 6, 7}, {0, 1, 2, 3}}));
  // 0.875 leaves 1 each: rounded down to 0, but never below one multiple.
  EXPECT_EQ(select_structures(s, 0.875, Structure::kNeurons, 4).neurons, (Keep{{4, 5, 6, 7}, {0, 1, 2, 3}}));
  // Heads of 32 weights keep an even count (64 / gcd(64, 32)); neurons a multiple of 64.
  EXPECT_EQ(structure_multiple(Structure::kHeads, 32), 2);
  EXPECT_EQ(structure_multiple(Structure::kHeads, 64), 1);
  EXPECT_EQ(structure_multiple(Structure::kNeurons, 64), 64);
}

TEST(StructureSelection, RejectsBadFractionsAndScores) {
  const StructureScores s = heads_only({{1, 2}});
  EXPECT_THROW(select_structures(s, -0.1, Structure::kHeads), UsageError);
  EXPECT_THROW(select_structures(s, 1.5, Structure::kHeads), UsageError);
  EXPECT_THROW(select_structures(s, std::nan(""), Structure::kHeads), UsageError);
  EXPECT_THROW(select_structures(heads_only({{1, std::numeric_limits<double>::infinity()}}), 0.5, Structure::kHeads),
               DataError);
  StructureScores mismatched = s;
  mismatched.neurons.push_back({1.0});
  EXPECT_THROW(select_structures(mismatched, 0.5, Structure::kHeads), ShapeError);
}

// The tiny fixture (L=2, H=24, NH=3 of HD 8, FF=40) with layer 1 already pruned to 2 heads and 9
// neurons, so per-layer sizes are exercised.
BertConfig pruned_tiny_config() {
  BertConfig c = parse_bert_config_file(test::fixtures_dir() + "/tiny_bert/config.json");
  c.layer_heads = {3, 2};
  c.layer_intermediate_sizes = {40, 9};
  return c;
}

// Σ term over one structure written as masks over whole tensors: Q|K|V row r belongs to head
// (r mod A) / HD, attention-output column c to head c / HD; neuron j owns intermediate row j and
// output column j.
struct LayerArrays {
  const float *qkv_w, *qkv_b, *out_w, *inter_w, *inter_b, *output_w;
};

template <class Term>
double head_mask_sum(const LayerArrays& a, const LayerArrays& b, int64_t H, int64_t HD, int64_t A, int64_t h, Term term) {
  double sum = 0;
  for (int64_t r = 0; r < 3 * A; ++r) {
    if ((r % A) / HD != h) continue;
    for (int64_t k = 0; k < H; ++k) sum += term(a.qkv_w[r * H + k], b.qkv_w[r * H + k]);
    sum += term(a.qkv_b[r], b.qkv_b[r]);
  }
  for (int64_t i = 0; i < H * A; ++i)
    if ((i % A) / HD == h) sum += term(a.out_w[i], b.out_w[i]);
  return sum;
}

template <class Term>
double neuron_mask_sum(const LayerArrays& a, const LayerArrays& b, int64_t H, int64_t FF, int64_t j, Term term) {
  double sum = term(a.inter_b[j], b.inter_b[j]);
  for (int64_t i = 0; i < FF * H; ++i)
    if (i / H == j) sum += term(a.inter_w[i], b.inter_w[i]);
  for (int64_t i = 0; i < H * FF; ++i)
    if (i % FF == j) sum += term(a.output_w[i], b.output_w[i]);
  return sum;
}

TEST(StructureScores, MagnitudeIsTheL2NormOfEveryParameterOfTheStructure) {
  const std::string dir = test::fixtures_dir() + "/tiny_bert";
  const BertModel m = bert_from_tensors(parse_bert_config_file(dir + "/config.json"),
                                        read_safetensors(dir + "/model.safetensors"), "tiny");
  const StructureScores s = magnitude_scores(m);
  ASSERT_EQ(s.heads.size(), 2u);
  const auto square = [](float v, float) { return static_cast<double>(v) * v; };
  for (size_t l = 0; l < 2; ++l) {
    const BertLayerWeights& w = m.weights.layers[l];
    const Tensor qkv = linear_dequantize(w.qkv), out = linear_dequantize(w.attention_out);
    const Tensor inter = linear_dequantize(w.intermediate), output = linear_dequantize(w.output);
    const LayerArrays a{qkv.data(), w.qkv.bias.data(), out.data(), inter.data(), w.intermediate.bias.data(), output.data()};
    ASSERT_EQ(s.heads[l].size(), 3u);
    ASSERT_EQ(s.neurons[l].size(), 40u);
    for (int64_t h = 0; h < 3; ++h) {
      const double want = std::sqrt(head_mask_sum(a, a, 24, 8, 24, h, square));
      EXPECT_GT(want, 0.1);  // ~770 parameters of std 0.02: a norm near 0.5
      EXPECT_NEAR(s.heads[l][static_cast<size_t>(h)], want, 1e-12 * want) << "layer " << l << " head " << h;
    }
    for (int64_t j = 0; j < 40; ++j) {
      const double want = std::sqrt(neuron_mask_sum(a, a, 24, 40, j, square));
      EXPECT_NEAR(s.neurons[l][static_cast<size_t>(j)], want, 1e-12 * want) << "layer " << l << " neuron " << j;
    }
  }
}

// A parameter buffer of `c`'s layer tensors (the ones structures live in), filled from `seed`.
BertParameters layer_parameters(const BertConfig& c, uint64_t seed) {
  auto layout = std::make_shared<ParameterLayout>();
  BertParameters p;
  p.config = c;
  const int64_t H = c.hidden_size;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const int64_t A = c.heads_in(l) * c.head_dim(), FF = c.intermediate_size_in(l);
    auto add = [&](const std::string& name, Shape shape) {
      return layout->add({"encoder.layer." + std::to_string(l) + "." + name, std::move(shape)});
    };
    BertLayerParameterIds ids{};
    ids.qkv_weight = add("qkv.weight", {3 * A, H});
    ids.qkv_bias = add("qkv.bias", {3 * A});
    ids.attention_out_weight = add("attention_out.weight", {H, A});
    ids.intermediate_weight = add("intermediate.weight", {FF, H});
    ids.intermediate_bias = add("intermediate.bias", {FF});
    ids.output_weight = add("output.weight", {H, FF});
    p.ids.layers.push_back(ids);
  }
  p.values = ParameterBuffer(layout);
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t i = 0; i < p.values.floats(); ++i) p.values.all()[i] = normal(rng);
  return p;
}

TEST(StructureScores, FirstOrderAddsTheAbsoluteDotOfWeightsAndGradientsPerBatch) {
  const BertConfig c = pruned_tiny_config();
  const BertParameters p = layer_parameters(c, 1);
  const BertParameters g1 = layer_parameters(c, 2), g2 = layer_parameters(c, 3);
  StructureScores s;
  add_first_order_scores(s, p, g1.values);
  add_first_order_scores(s, p, g2.values);
  ASSERT_EQ(s.heads.size(), 2u);
  const auto product = [](float w, float g) { return static_cast<double>(w) * g; };
  for (int64_t l = 0; l < 2; ++l) {
    const auto arrays = [&](const ParameterBuffer& b) {
      const BertLayerParameterIds& ids = p.ids.layers[static_cast<size_t>(l)];
      return LayerArrays{b.data(ids.qkv_weight),          b.data(ids.qkv_bias),          b.data(ids.attention_out_weight),
                         b.data(ids.intermediate_weight), b.data(ids.intermediate_bias), b.data(ids.output_weight)};
    };
    const LayerArrays w = arrays(p.values), a = arrays(g1.values), b = arrays(g2.values);
    const int64_t A = c.heads_in(l) * 8, FF = c.intermediate_size_in(l);
    ASSERT_EQ(static_cast<int64_t>(s.heads[static_cast<size_t>(l)].size()), c.heads_in(l));
    ASSERT_EQ(static_cast<int64_t>(s.neurons[static_cast<size_t>(l)].size()), FF);
    for (int64_t h = 0; h < c.heads_in(l); ++h) {
      const double want = std::abs(head_mask_sum(w, a, 24, 8, A, h, product)) + std::abs(head_mask_sum(w, b, 24, 8, A, h, product));
      EXPECT_NEAR(s.heads[static_cast<size_t>(l)][static_cast<size_t>(h)], want, 1e-9) << l << "/" << h;
    }
    for (int64_t j = 0; j < FF; ++j) {
      const double want = std::abs(neuron_mask_sum(w, a, 24, FF, j, product)) + std::abs(neuron_mask_sum(w, b, 24, FF, j, product));
      EXPECT_NEAR(s.neurons[static_cast<size_t>(l)][static_cast<size_t>(j)], want, 1e-9) << l << "/" << j;
    }
  }
}

TEST(StructureScores, FirstOrderRejectsBuffersAndScoresOfAnotherShape) {
  const BertConfig c = pruned_tiny_config();
  const BertParameters p = layer_parameters(c, 1);
  BertConfig uniform = c;
  uniform.layer_heads.clear();
  StructureScores s;
  EXPECT_THROW(add_first_order_scores(s, p, layer_parameters(uniform, 2).values), ShapeError);
  // Parameters whose tensors disagree with their own config's layer sizes.
  BertParameters mislabelled = layer_parameters(uniform, 2);
  mislabelled.config = c;
  StructureScores fresh;
  EXPECT_THROW(add_first_order_scores(fresh, mislabelled, mislabelled.values), ShapeError);
  StructureScores wrong = heads_only({{1, 2, 3}});
  EXPECT_THROW(add_first_order_scores(wrong, p, p.values), ShapeError);
}

// The flat form processes exchange: heads of every layer, then neurons; adding it back in place
// restores the per-layer scores, and a count for another model is refused before anything is added.
TEST(StructureScores, FlatScoresRoundTripAndRefuseAnotherModelsCount) {
  const BertConfig c = pruned_tiny_config();
  StructureScores scores = zero_scores(c);
  double next = 1;
  for (auto* part : {&scores.heads, &scores.neurons})
    for (std::vector<double>& layer : *part)
      for (double& v : layer) v = next++;
  const std::vector<double> flat = flat_scores(scores);
  ASSERT_EQ(flat.size(), static_cast<size_t>(next - 1));
  EXPECT_EQ(flat.front(), 1.0);
  EXPECT_EQ(flat[scores.heads[0].size()], scores.heads.size() > 1 ? scores.heads[1][0] : scores.neurons[0][0]);
  StructureScores twice = scores;
  add_flat_scores(twice, flat);
  for (size_t l = 0; l < scores.neurons.size(); ++l)
    for (size_t j = 0; j < scores.neurons[l].size(); ++j) EXPECT_EQ(twice.neurons[l][j], 2 * scores.neurons[l][j]);
  StructureScores untouched = scores;
  EXPECT_THROW(add_flat_scores(untouched, std::vector<double>(flat.size() - 1, 1.0)), ShapeError);
  EXPECT_EQ(flat_scores(untouched), flat);
}

}  // namespace
}  // namespace squish
