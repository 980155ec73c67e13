// A tiny random BERT (tools/make_tiny_fixture.py) against HF transformers' logits on the shapes
// real checkpoints do not reach: batch 1 x length 1, length = max positions, heavy padding, token
// type 1, and F16/BF16 weights.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_util.h"
#include "model/bert/bert_config_file.h"
#include "io/safetensors.h"
#include "model/bert/bert_checkpoint.h"
#include "model/bert/bert_forward.h"
#include "model/common/linear.h"
#include "test_paths.h"

namespace squish {
namespace {

std::string tiny_dir() { return test::fixtures_dir() + "/tiny_bert"; }

nlohmann::json golden() { return nlohmann::json::parse(read_file(tiny_dir() + "/golden.json")); }

BertModel tiny_model(const std::string& weights_file) {
  const BertConfig config = parse_bert_config_file(tiny_dir() + "/config.json");
  const std::string path = tiny_dir() + "/" + weights_file;
  return bert_from_tensors(config, read_safetensors(path), path);
}

TokenBatch batch_of(const nlohmann::json& sequences, const std::vector<size_t>& which) {
  TokenBatch b;
  b.batch = static_cast<int64_t>(which.size());
  for (size_t i : which) b.tokens = std::max<int64_t>(b.tokens, static_cast<int64_t>(sequences[i]["ids"].size()));
  for (size_t i : which) {
    auto ids = sequences[i]["ids"].get<std::vector<int32_t>>();
    auto types = sequences[i]["types"].get<std::vector<int32_t>>();
    b.lengths.push_back(static_cast<int32_t>(ids.size()));
    ids.resize(static_cast<size_t>(b.tokens), 0);
    types.resize(static_cast<size_t>(b.tokens), 0);
    b.input_ids.insert(b.input_ids.end(), ids.begin(), ids.end());
    b.token_type_ids.insert(b.token_type_ids.end(), types.begin(), types.end());
  }
  return b;
}

void expect_logits(const BertModel& model, const nlohmann::json& g, const std::string& key, double tol) {
  const auto& seqs = g["sequences"];
  const auto& want = g[key];
  BertActivations act;
  std::vector<float> logits;
  const int64_t C = model.config.num_labels;
  // Each sequence alone, then all of them in one padded batch: both must equal the reference.
  for (size_t i = 0; i < seqs.size(); ++i) {
    bert_forward(model, batch_of(seqs, {i}), act, logits);
    for (int64_t c = 0; c < C; ++c)
      EXPECT_NEAR(logits[c], want[i][c].get<double>(), tol) << key << " alone: " << seqs[i]["name"];
  }
  std::vector<size_t> all(seqs.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  bert_forward(model, batch_of(seqs, all), act, logits);
  for (size_t i = 0; i < seqs.size(); ++i)
    for (int64_t c = 0; c < C; ++c)
      EXPECT_NEAR(logits[i * C + c], want[i][c].get<double>(), tol) << key << " padded batch: " << seqs[i]["name"];
}

TEST(TinyBert, Fp32LogitsMatchTransformersOnOddShapes) { expect_logits(tiny_model("model.safetensors"), golden(), "logits_f32", 1e-5); }
TEST(TinyBert, F16WeightsMatchTransformers) { expect_logits(tiny_model("model_f16.safetensors"), golden(), "logits_f16", 1e-5); }
TEST(TinyBert, Bf16WeightsMatchTransformers) { expect_logits(tiny_model("model_bf16.safetensors"), golden(), "logits_bf16", 1e-5); }

TEST(TinyBert, ActivationBuffersGrowAndShrinkWithTheBatch) {
  const BertModel model = tiny_model("model.safetensors");
  const auto g = golden();
  BertActivations act;
  std::vector<float> logits;
  bert_forward(model, batch_of(g["sequences"], {0}), act, logits);  // smallest first: buffers must grow
  bert_forward(model, batch_of(g["sequences"], {1, 3, 4}), act, logits);
  bert_forward(model, batch_of(g["sequences"], {2}), act, logits);
  for (int64_t c = 0; c < model.config.num_labels; ++c)
    EXPECT_NEAR(logits[c], g["logits_f32"][2][c].get<double>(), 1e-5);
}

// What a Tap sees: every site in forward order, each Linear's input named by the Linear's identity,
// and exactly the rows inference computes ([CLS] rows past the last layer's QKV).
TEST(TinyBert, TapSeesEveryLinearInputByIdentityAndTheRowsInferenceComputes) {
  const BertModel model = tiny_model("model.safetensors");
  const TokenBatch b = batch_of(golden()["sequences"], {0, 2});
  std::vector<std::string> seen;
  Tap tap;
  tap.fn = [&](const TapPoint& p, const TapView& v) {
    const std::string name = p.site == TapSite::kLinearInput ? p.linear->name
                             : p.site == TapSite::kEmbeddings ? "embeddings"
                             : p.site == TapSite::kLayerOutput ? "layer_output." + std::to_string(p.layer)
                                                               : "logits";
    seen.push_back(name);
    EXPECT_EQ(v.mutable_data, nullptr) << name;
    EXPECT_EQ(v.batch, 2);
    EXPECT_EQ(v.rows, v.batch * v.row_tokens) << name;
    if (p.site == TapSite::kLinearInput) {
      EXPECT_EQ(v.cols, p.linear->in_features()) << name;
    }
    const bool all_tokens = p.site == TapSite::kEmbeddings || p.layer == 0 ||
                            (p.linear && p.linear->name == "encoder.layer.1.attention.self.qkv");
    EXPECT_EQ(v.row_tokens, all_tokens ? b.tokens : 1) << name;
  };
  ForwardOptions options;
  options.tap = &tap;
  BertActivations act;
  std::vector<float> logits;
  bert_forward(model, b, act, logits, options);
  const std::vector<std::string> want = {
      "embeddings",
      "encoder.layer.0.attention.self.qkv", "encoder.layer.0.attention.output.dense",
      "encoder.layer.0.intermediate.dense", "encoder.layer.0.output.dense", "layer_output.0",
      "encoder.layer.1.attention.self.qkv", "encoder.layer.1.attention.output.dense",
      "encoder.layer.1.intermediate.dense", "encoder.layer.1.output.dense", "layer_output.1",
      "pooler.dense", "classifier", "logits"};
  EXPECT_EQ(seen, want);
}

TEST(TinyBert, NoOpTapsLeaveLogitsBitForBit) {
  const BertModel model = tiny_model("model.safetensors");
  const TokenBatch b = batch_of(golden()["sequences"], {0, 1, 2, 3, 4});
  BertActivations act;
  std::vector<float> plain, observed, replaced;
  bert_forward(model, b, act, plain);
  Tap observe;
  observe.fn = [](const TapPoint&, const TapView&) {};
  Tap replace = observe;
  replace.mode = Tap::Mode::kReplace;
  bert_forward(model, b, act, observed, {LastLayerRows::kClsOnly, &observe});
  bert_forward(model, b, act, replaced, {LastLayerRows::kClsOnly, &replace});
  EXPECT_EQ(observed, plain);
  EXPECT_EQ(replaced, plain);
}

TEST(TinyBert, ReplacingTapChangesOnlyTheLinearItTargets) {
  const BertModel model = tiny_model("model.safetensors");
  const TokenBatch b = batch_of(golden()["sequences"], {0, 2});
  // Zeroing the classifier's input leaves its bias as the logits.
  Tap zero_head;
  zero_head.mode = Tap::Mode::kReplace;
  zero_head.fn = [](const TapPoint& p, const TapView& v) {
    if (p.linear && p.linear->role == LinearRole::kClassifier) std::fill_n(v.mutable_data, v.rows * v.cols, 0.0f);
  };
  BertActivations act;
  std::vector<float> logits;
  bert_forward(model, b, act, logits, {LastLayerRows::kClsOnly, &zero_head});
  const Tensor& bias = model.weights.classifier.bias;
  for (int64_t s = 0; s < 2; ++s)
    for (int64_t c = 0; c < bias.numel(); ++c) EXPECT_EQ(logits[s * bias.numel() + c], bias.values[c]);
  // Zeroing layer 0's QKV input must not touch the residual stream that shares its buffer: the
  // attention output's input (its context) changes, the embeddings the residual adds do not.
  const float* embeddings = nullptr;
  std::vector<float> embeddings_before;
  Tap zero_qkv;
  zero_qkv.mode = Tap::Mode::kReplace;
  zero_qkv.fn = [&](const TapPoint& p, const TapView& v) {
    if (p.site == TapSite::kEmbeddings) {
      embeddings = v.data;
      embeddings_before.assign(v.data, v.data + v.rows * v.cols);
    }
    if (p.linear && p.linear->name == "encoder.layer.0.attention.self.qkv") {
      EXPECT_NE(v.data, embeddings);
      std::fill_n(v.mutable_data, v.rows * v.cols, 0.0f);
      EXPECT_EQ(std::vector<float>(embeddings, embeddings + v.rows * v.cols), embeddings_before);
    }
  };
  bert_forward(model, b, act, logits, {LastLayerRows::kClsOnly, &zero_qkv});
}

TEST(TinyBert, AllTokensLastLayerGivesTheSameLogits) {
  const BertModel model = tiny_model("model.safetensors");
  const TokenBatch b = batch_of(golden()["sequences"], {0, 1, 2, 3, 4});
  BertActivations act;
  std::vector<float> cls_only, all_tokens;
  bert_forward(model, b, act, cls_only);
  bert_forward(model, b, act, all_tokens, {LastLayerRows::kAllTokens, nullptr});
  ASSERT_EQ(cls_only.size(), all_tokens.size());
  for (size_t i = 0; i < cls_only.size(); ++i) EXPECT_NEAR(cls_only[i], all_tokens[i], 1e-6) << i;
}

TEST(TinyBert, RejectsBatchesOutsideTheModel) {
  const BertModel model = tiny_model("model.safetensors");
  BertActivations act;
  std::vector<float> logits;
  TokenBatch b = batch_of(golden()["sequences"], {2});
  b.input_ids[1] = 61;  // vocab_size
  EXPECT_THROW(bert_forward(model, b, act, logits), ShapeError);
  b = batch_of(golden()["sequences"], {2});
  b.token_type_ids[0] = 2;
  EXPECT_THROW(bert_forward(model, b, act, logits), ShapeError);
  TokenBatch too_long;
  too_long.batch = 1;
  too_long.tokens = 21;  // max_position_embeddings is 20
  too_long.input_ids.assign(21, 1);
  too_long.token_type_ids.assign(21, 0);
  too_long.lengths = {21};
  EXPECT_THROW(bert_forward(model, too_long, act, logits), ShapeError);
}

}  // namespace
}  // namespace squish
