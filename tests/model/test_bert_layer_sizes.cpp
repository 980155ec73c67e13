// Per-layer sizes after structured pruning: config.json's "squish_layer_sizes" parsed and written,
// and every shape the model derives from the config (name table, random weights, forward buffers,
// FLOPs, parameter counts) following each layer's heads and FFN neurons.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include <nlohmann/json.hpp>

#include "common/token_batches.h"
#include "core/error.h"
#include "core/file_util.h"
#include "model/bert/bert_config_file.h"
#include "model/bert/bert_checkpoint.h"
#include "model/bert/bert_forward.h"
#include "test_paths.h"

namespace squish {
namespace {

std::string tiny_config_text() { return read_file(test::fixtures_dir() + "/tiny_bert/config.json"); }

// The tiny fixture's config (L=2, H=24, NH=3, FF=40) with `layer_sizes` as "squish_layer_sizes".
std::string with_layer_sizes(const nlohmann::json& layer_sizes) {
  nlohmann::json j = nlohmann::json::parse(tiny_config_text());
  j["squish_layer_sizes"] = layer_sizes;
  return j.dump();
}

std::string config_error_of(const std::string& text) {
  try {
    parse_bert_config_text(text, "pruned/config.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no ConfigError)";
}

BertConfig pruned_tiny_config() {
  return parse_bert_config_text(
      with_layer_sizes({{"num_attention_heads", {1, 3}}, {"intermediate_size", {40, 7}}}), "pruned/config.json");
}

TEST(BertLayerSizes, ParsesPerLayerHeadsAndNeurons) {
  const BertConfig c = pruned_tiny_config();
  EXPECT_EQ(c.layer_heads, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(c.layer_intermediate_sizes, (std::vector<int64_t>{40, 7}));
  EXPECT_EQ(c.heads_in(0), 1);
  EXPECT_EQ(c.intermediate_size_in(1), 7);
  EXPECT_EQ(c.head_dim(), 8);  // the original H / NH, not changed by removing heads
}

TEST(BertLayerSizes, EachListIsOptionalAndAUniformListMeansUniform) {
  const BertConfig heads_only = parse_bert_config_text(with_layer_sizes({{"num_attention_heads", {2, 1}}}), "c");
  EXPECT_EQ(heads_only.layer_heads, (std::vector<int64_t>{2, 1}));
  EXPECT_TRUE(heads_only.layer_intermediate_sizes.empty());
  EXPECT_EQ(heads_only.intermediate_size_in(1), 40);
  const BertConfig uniform = parse_bert_config_text(with_layer_sizes({{"intermediate_size", {40, 40}}}), "c");
  EXPECT_TRUE(uniform.layer_intermediate_sizes.empty());
}

TEST(BertLayerSizes, BadEntriesAreConfigErrorsNamingFileAndKey) {
  struct Case {
    nlohmann::json sizes;
    std::string says;
  };
  const Case cases[] = {
      {{{"num_attention_heads", {1, 2, 3}}}, "\"squish_layer_sizes\".\"num_attention_heads\" must be a list of 2 integers"},
      {{{"num_attention_heads", {0, 3}}}, "\"squish_layer_sizes\".\"num_attention_heads\": every entry must be an integer in [1, 3], found 0"},
      {{{"num_attention_heads", {4, 3}}}, "in [1, 3], found 4"},
      {{{"intermediate_size", {41, 3}}}, "\"squish_layer_sizes\".\"intermediate_size\": every entry must be an integer in [1, 40], found 41"},
      {{{"intermediate_size", {2.5, 3}}}, "found 2.5"},
      {{{"intermediate_size", "40"}}, "\"intermediate_size\" must be a list of 2 integers"},
      {{{"heads", {1, 1}}}, "unknown key \"heads\""},
      {{1, 2}, "\"squish_layer_sizes\" must be an object"},
  };
  for (const Case& c : cases) {
    const std::string msg = config_error_of(with_layer_sizes(c.sizes));
    EXPECT_NE(msg.find("pruned/config.json: "), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.says), std::string::npos) << c.sizes.dump() << " gave: " << msg;
  }
}

TEST(BertLayerSizes, ConfigTextRoundTripsAndStaysVerbatimWhenUniform) {
  const std::string original = tiny_config_text();
  EXPECT_EQ(config_text_with_layer_sizes(original, {}, {}, "c"), original);
  const std::string pruned = config_text_with_layer_sizes(original, {1, 3}, {40, 7}, "c");
  const BertConfig c = parse_bert_config_text(pruned, "c");
  EXPECT_EQ(c.layer_heads, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(c.layer_intermediate_sizes, (std::vector<int64_t>{40, 7}));
  // Every other key is kept in its place; only the new one is appended.
  const auto before = nlohmann::ordered_json::parse(original), after = nlohmann::ordered_json::parse(pruned);
  auto it = after.begin();
  for (const auto& [key, value] : before.items()) {
    EXPECT_EQ(it.key(), key);
    EXPECT_EQ(*it, value);
    ++it;
  }
  EXPECT_EQ(it.key(), "squish_layer_sizes");
  // Back to uniform removes the key.
  EXPECT_FALSE(nlohmann::json::parse(config_text_with_layer_sizes(pruned, {}, {}, "c")).contains("squish_layer_sizes"));
  const std::string heads_only = config_text_with_layer_sizes(original, {2, 2}, {}, "c");
  EXPECT_FALSE(nlohmann::json::parse(heads_only)["squish_layer_sizes"].contains("intermediate_size"));
}

TEST(BertLayerSizes, RandomWeightsTakeEachLayersShapes) {
  const BertModel m = random_bert(pruned_tiny_config(), 3);
  const BertLayerWeights& l0 = m.weights.layers[0];
  const BertLayerWeights& l1 = m.weights.layers[1];
  EXPECT_EQ(l0.qkv.out_features(), 3 * 8);  // 1 head of HD 8, times Q, K, V
  EXPECT_EQ(l0.qkv.in_features(), 24);
  ASSERT_EQ(l0.qkv.parts.size(), 3u);
  EXPECT_EQ(l0.qkv.parts[1].name, "encoder.layer.0.attention.self.key");
  EXPECT_EQ(l0.qkv.parts[1].rows, 8);
  EXPECT_EQ(l0.attention_out.out_features(), 24);
  EXPECT_EQ(l0.attention_out.in_features(), 8);
  EXPECT_EQ(l0.intermediate.out_features(), 40);
  EXPECT_EQ(l1.qkv.out_features(), 72);
  EXPECT_EQ(l1.attention_out.in_features(), 24);
  EXPECT_EQ(l1.intermediate.out_features(), 7);
  EXPECT_EQ(l1.intermediate.bias.numel(), 7);
  EXPECT_EQ(l1.output.in_features(), 7);
}

TEST(BertLayerSizes, ParameterGroupsCountEachLayersSizes) {
  const BertConfig c = pruned_tiny_config();
  const auto groups = bert_parameter_groups(c, true, true);
  const int64_t H = 24;
  // Per layer: QKV 3A·H + 3A, attention output H·A + H; FFN FF·H + FF + H·FF + H.
  const int64_t attention = (3 * 8 * H + 3 * 8 + H * 8 + H) + (3 * 24 * H + 3 * 24 + H * 24 + H);
  const int64_t feed_forward = (40 * H + 40 + H * 40 + H) + (7 * H + 7 + H * 7 + H);
  const std::map<std::string, int64_t> by_name(groups.begin(), groups.end());
  EXPECT_EQ(by_name.at("attention"), attention);
  EXPECT_EQ(by_name.at("feed_forward"), feed_forward);
  EXPECT_EQ(random_bert(c, 1).parameter_count(), total_parameters(groups));
}

TEST(BertLayerSizes, ForwardFlopsAddEachLayersOwnSizes) {
  const BertConfig c = pruned_tiny_config();
  const double B = 2, T = 5, M = B * T, H = 24;
  auto layer = [&](double A, double FF, double rows, double queries) {
    return 2 * M * 3 * A * H + 4 * B * queries * T * A + 2 * rows * (A * H + 2 * H * FF);
  };
  const double head = 2 * B * H * (H + 3);
  EXPECT_DOUBLE_EQ(bert_forward_flops(c, 2, 5, LastLayerRows::kAllTokens), layer(8, 40, M, T) + layer(24, 7, M, T) + head);
  EXPECT_DOUBLE_EQ(bert_forward_flops(c, 2, 5, LastLayerRows::kClsOnly), layer(8, 40, M, T) + layer(24, 7, B, 1) + head);
}

// A pruned layer sized smaller than the widest must not read or write past its own widths: the
// same model forwarded after a wider one has grown the buffers gives the same logits bit for bit.
TEST(BertLayerSizes, ForwardRunsAndIsIndependentOfBufferHistory) {
  const BertModel pruned = random_bert(pruned_tiny_config(), 5);
  const BertModel wide = random_bert(parse_bert_config_text(tiny_config_text(), "c"), 5);
  const TokenBatch b = test::small_batch();
  BertActivations fresh, used;
  std::vector<float> first, second, unused;
  bert_forward(pruned, b, fresh, first, {.last_layer = LastLayerRows::kAllTokens});
  bert_forward(wide, b, used, unused, {.last_layer = LastLayerRows::kAllTokens});
  bert_forward(pruned, b, used, second, {.last_layer = LastLayerRows::kAllTokens});
  ASSERT_EQ(first.size(), 6u);
  EXPECT_EQ(first, second);
  for (float v : first) EXPECT_TRUE(std::isfinite(v));
}

}  // namespace
}  // namespace squish
