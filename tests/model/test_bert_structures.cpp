// BERT's structures (model/bert/bert_structures.h): magnitude and first-order scores against the
// structures written as masks over whole tensors, and physically removing heads and FFN neurons: the
// shrunk model computes what the original computes
// with the removed heads' attention-output columns and the removed neurons' output columns zeroed
// (tiny fixtures and the real MiniLM on SST-2 dev sentences), and a shrunk model saved as a squish
// model directory loads back with its per-layer sizes and bit-identical logits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include "core/error.h"
#include "core/file_util.h"
#include "core/staged_directory.h"
#include "eval/export.h"
#include "eval/inspect.h"
#include "eval/runner.h"
#include "io/datasets/dataset.h"
#include "io/safetensors.h"
#include "io/tokenizer/wordpiece.h"
#include "model/bert/bert_checkpoint.h"
#include "model/bert/bert_config_file.h"
#include "model/bert/bert_parameters.h"
#include "model/bert/bert_sequence_model.h"
#include "model/bert/bert_structures.h"
#include "model/load_model.h"
#include "prune/structured.h"
#include "test_paths.h"

namespace squish {
namespace {

BertModel fixture_model(const std::string& name) {
  const std::string dir = test::fixtures_dir() + "/" + name;
  return bert_from_tensors(parse_bert_config_file(dir + "/config.json"), read_safetensors(dir + "/model.safetensors"),
                           name);
}

// `l` with the weight columns outside the kept blocks set to zero (dense fp32, same identity).
Linear zero_columns_except(const Linear& l, const std::vector<int64_t>& kept_blocks, int64_t block) {
  Tensor w = linear_dequantize(l);
  const int64_t N = w.dim(0), K = w.dim(1);
  for (int64_t c = 0; c < K; ++c) {
    if (std::binary_search(kept_blocks.begin(), kept_blocks.end(), c / block)) continue;
    for (int64_t i = 0; i < N; ++i) w.data()[i * K + c] = 0.0f;
  }
  return make_linear(l.name, l.role, l.layer, w, l.bias, l.parts);
}

// What removing the structures must equal: the original with the removed heads' and neurons'
// contributions to the residual stream zeroed.
BertModel zeroed(const BertModel& m, const StructureKeep& keep) {
  BertModel out = m;
  for (size_t l = 0; l < out.weights.layers.size(); ++l) {
    BertLayerWeights& w = out.weights.layers[l];
    w.attention_out = zero_columns_except(w.attention_out, keep.heads[l], m.config.head_dim());
    w.output = zero_columns_except(w.output, keep.neurons[l], 1);
  }
  return out;
}

std::vector<float> logits_of(const BertModel& m, const TokenBatch& b) {
  BertActivations act;
  std::vector<float> logits;
  bert_forward(m, b, act, logits);
  return logits;
}

// Three sequences the fixtures' vocabulary covers, with padding and both token types.
TokenBatch fixture_batch() {
  TokenBatch b;
  b.batch = 3;
  b.tokens = 9;
  b.input_ids = {2, 14, 33, 8, 51, 17, 40, 9, 3, 2, 60, 5, 3, 0, 0, 0, 0, 0, 2, 7, 19, 23, 3, 44, 12, 3, 0};
  b.token_type_ids = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0};
  b.lengths = {9, 4, 8};
  return b;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) d = std::max(d, static_cast<double>(std::fabs(a[i] - b[i])));
  return d;
}

// fp32 error model: shrinking changes only the length of the attention-output and FFN-output dot
// products (zero terms dropped), i.e. the order fp32 rounds in. The fixtures' logits already agree
// with PyTorch's entirely different summation order within 1e-5 (test_bert_tiny), the real models'
// within 1e-4 (test_real_models); those are the bounds here. Removal itself must move the logits by
// far more, or the comparison would prove nothing.
void expect_shrunk_equals_zeroed(const BertModel& m, const StructureKeep& keep, const TokenBatch& b, double tolerance) {
  const BertModel shrunk = shrink_bert(m, keep);
  const std::vector<float> want = logits_of(zeroed(m, keep), b), got = logits_of(shrunk, b);
  EXPECT_LE(max_abs_diff(got, want), tolerance);
  EXPECT_GT(max_abs_diff(logits_of(m, b), want), 100 * tolerance) << "removing these structures barely matters";
  for (size_t l = 0; l < keep.heads.size(); ++l) {
    const BertLayerWeights& w = shrunk.weights.layers[l];
    const int64_t A = static_cast<int64_t>(keep.heads[l].size()) * m.config.head_dim();
    const int64_t FF = static_cast<int64_t>(keep.neurons[l].size());
    EXPECT_EQ(shrunk.config.heads_in(static_cast<int64_t>(l)), static_cast<int64_t>(keep.heads[l].size()));
    EXPECT_EQ(shrunk.config.intermediate_size_in(static_cast<int64_t>(l)), FF);
    EXPECT_EQ(w.qkv.out_features(), 3 * A);
    EXPECT_EQ(w.attention_out.in_features(), A);
    EXPECT_EQ(w.intermediate.out_features(), FF);
    EXPECT_EQ(w.output.in_features(), FF);
  }
}

TEST(ShrinkBert, TinyModelEqualsTheOriginalWithRemovedOutputsZeroed) {
  const BertModel m = fixture_model("tiny_bert");  // L=2, NH=3, FF=40
  StructureKeep keep = keep_everything(zero_scores(m.config));
  keep.heads = {{0, 2}, {1}};
  keep.neurons[0] = {1, 2, 3, 5, 8, 13, 21, 34};
  keep.neurons[1].erase(keep.neurons[1].begin() + 10, keep.neurons[1].begin() + 30);
  expect_shrunk_equals_zeroed(m, keep, fixture_batch(), 1e-5);
}

TEST(ShrinkBert, HeadsAloneAndNeuronsAloneOnTheK16Fixture) {
  const BertModel m = fixture_model("tiny_bert_k16");  // L=2, NH=2, FF=64
  StructureKeep heads = keep_everything(zero_scores(m.config));
  heads.heads = {{1}, {0}};
  expect_shrunk_equals_zeroed(m, heads, fixture_batch(), 1e-5);
  EXPECT_TRUE(shrink_bert(m, heads).config.layer_intermediate_sizes.empty());
  StructureKeep neurons = keep_everything(zero_scores(m.config));
  for (auto& layer : neurons.neurons) std::erase_if(layer, [](int64_t j) { return j % 3 == 0; });
  expect_shrunk_equals_zeroed(m, neurons, fixture_batch(), 1e-5);
  EXPECT_TRUE(shrink_bert(m, neurons).config.layer_heads.empty());
}

TEST(ShrinkBert, ShrinkingAShrunkModelComposes) {
  const BertModel m = fixture_model("tiny_bert");
  StructureKeep first = keep_everything(zero_scores(m.config));
  first.heads = {{0, 1}, {0, 1, 2}};
  first.neurons[1] = {0, 5, 10, 15, 20, 25};
  StructureKeep second = keep_everything(zero_scores(shrink_bert(m, first).config));
  second.heads[0] = {1};
  second.neurons[1] = {1, 3};
  StructureKeep direct = first;  // the same survivors in the original's indices
  direct.heads[0] = {1};
  direct.neurons[1] = {5, 15};
  const TokenBatch b = fixture_batch();
  EXPECT_EQ(logits_of(shrink_bert(shrink_bert(m, first), second), b), logits_of(shrink_bert(m, direct), b));
}

TEST(ShrinkBert, KeepListsThatDoNotFitTheModelAreShapeErrors) {
  const BertModel m = fixture_model("tiny_bert");
  const StructureKeep all = keep_everything(zero_scores(m.config));
  auto with = [&](auto change) {
    StructureKeep k = all;
    change(k);
    return k;
  };
  EXPECT_THROW(shrink_bert(m, with([](StructureKeep& k) { k.heads.pop_back(); })), ShapeError);
  EXPECT_THROW(shrink_bert(m, with([](StructureKeep& k) { k.heads[1].clear(); })), ShapeError);
  EXPECT_THROW(shrink_bert(m, with([](StructureKeep& k) { k.heads[0] = {0, 3}; })), ShapeError);
  EXPECT_THROW(shrink_bert(m, with([](StructureKeep& k) { k.heads[0] = {2, 1}; })), ShapeError);
  EXPECT_THROW(shrink_bert(m, with([](StructureKeep& k) { k.neurons[0] = {4, 4}; })), ShapeError);
  EXPECT_THROW(shrink_bert(m, with([](StructureKeep& k) { k.neurons[1] = {-1}; })), ShapeError);
}

TEST(ShrinkBert, SavedShrunkModelLoadsBackBitIdentical) {
  const std::string source = test::fixtures_dir() + "/tiny_bert";
  const BertModel m = fixture_model("tiny_bert");
  StructureKeep keep = keep_everything(zero_scores(m.config));
  keep.heads = {{0, 2}, {1}};
  keep.neurons[1] = {0, 1, 2, 30, 39};
  ModelInfo info;
  info.config_path = source + "/config.json";
  const BertSequenceModel shrunk(shrink_bert(m, keep), info);
  const std::string dir = test::temp_dir("shrunk") + "/model";
  {
    StagedDirectory out(dir);
    write_squish_model(shrunk, source, out);
    out.commit();
  }
  const BertConfig saved = parse_bert_config_file(dir + "/config.json");
  EXPECT_EQ(saved.layer_heads, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(saved.layer_intermediate_sizes, (std::vector<int64_t>{40, 5}));
  EXPECT_EQ(saved.num_attention_heads, 3);  // the uniform sizes stay: HD = H / NH is the original's
  EXPECT_EQ(saved.intermediate_size, 40);

  const std::unique_ptr<SequenceModel> loaded = load_model(dir);
  EXPECT_EQ(loaded->info().layer_heads, saved.layer_heads);
  EXPECT_EQ(loaded->parameter_count(), shrunk.parameter_count());
  const TokenBatch b = fixture_batch();
  std::vector<float> got;
  loaded->forward(b, got);
  EXPECT_EQ(got, logits_of(shrunk.model(), b));

  const std::string summary = model_summary_text(inspect_model(dir));
  EXPECT_NE(summary.find("heads         2 1 per layer"), std::string::npos) << summary;
  EXPECT_NE(summary.find("ffn neurons   40 5 per layer"), std::string::npos) << summary;
}

TEST(ShrinkBertRealModel, MiniLmOnSst2DevSentences) {
  const std::string dir = test::shared_dir() + "/models/minilm-l6-sst2";
  const BertModel m = load_bert_model(dir);
  const StructureScores scores = magnitude_scores(m);
  StructureKeep keep = select_structures(scores, 0.5, Structure::kHeads);
  keep.neurons = select_structures(scores, 0.5, Structure::kNeurons).neurons;
  int64_t heads = 0, neurons = 0;
  for (size_t l = 0; l < keep.heads.size(); ++l) {
    heads += static_cast<int64_t>(keep.heads[l].size());
    neurons += static_cast<int64_t>(keep.neurons[l].size());
  }
  EXPECT_EQ(heads, 6 * 12 / 2);
  EXPECT_EQ(neurons, 6 * 1536 / 2);

  const WordPieceTokenizer tokenizer = WordPieceTokenizer::from_model_dir(dir);
  Dataset data = load_dataset(Task::kSst2, Split::kDev, test::shared_dir() + "/data");
  data.examples.erase(data.examples.begin() + 8, data.examples.end());
  const std::vector<Encoding> encodings = encode_dataset(tokenizer, data, 128);
  TokenBatch b;
  b.batch = static_cast<int64_t>(encodings.size());
  for (const Encoding& e : encodings) b.tokens = std::max<int64_t>(b.tokens, static_cast<int64_t>(e.input_ids.size()));
  for (const Encoding& e : encodings) {
    b.lengths.push_back(static_cast<int32_t>(e.input_ids.size()));
    for (int64_t t = 0; t < b.tokens; ++t) {
      const bool real = t < static_cast<int64_t>(e.input_ids.size());
      b.input_ids.push_back(real ? e.input_ids[static_cast<size_t>(t)] : tokenizer.pad_id());
      b.token_type_ids.push_back(real ? e.token_type_ids[static_cast<size_t>(t)] : 0);
    }
  }
  expect_shrunk_equals_zeroed(m, keep, b, 1e-4);
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
double head_mask_sum(const LayerArrays& a, const LayerArrays& b, int64_t H, int64_t HD, int64_t A, int64_t h,
                     Term term) {
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
    const LayerArrays a{qkv.data(),   w.qkv.bias.data(),          out.data(),
                        inter.data(), w.intermediate.bias.data(), output.data()};
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
      return LayerArrays{b.data(ids.qkv_weight),           b.data(ids.qkv_bias),
                         b.data(ids.attention_out_weight), b.data(ids.intermediate_weight),
                         b.data(ids.intermediate_bias),    b.data(ids.output_weight)};
    };
    const LayerArrays w = arrays(p.values), a = arrays(g1.values), b = arrays(g2.values);
    const int64_t A = c.heads_in(l) * 8, FF = c.intermediate_size_in(l);
    ASSERT_EQ(static_cast<int64_t>(s.heads[static_cast<size_t>(l)].size()), c.heads_in(l));
    ASSERT_EQ(static_cast<int64_t>(s.neurons[static_cast<size_t>(l)].size()), FF);
    for (int64_t h = 0; h < c.heads_in(l); ++h) {
      const double want =
          std::abs(head_mask_sum(w, a, 24, 8, A, h, product)) + std::abs(head_mask_sum(w, b, 24, 8, A, h, product));
      EXPECT_NEAR(s.heads[static_cast<size_t>(l)][static_cast<size_t>(h)], want, 1e-9) << l << "/" << h;
    }
    for (int64_t j = 0; j < FF; ++j) {
      const double want =
          std::abs(neuron_mask_sum(w, a, 24, FF, j, product)) + std::abs(neuron_mask_sum(w, b, 24, FF, j, product));
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
  StructureScores wrong{{{1, 2, 3}}, {{1.0, 2.0}}};  // one layer of 3 heads and 2 neurons
  EXPECT_THROW(add_first_order_scores(wrong, p, p.values), ShapeError);
}

}  // namespace
}  // namespace squish
