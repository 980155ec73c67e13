// Binding named tensors to the model: name variants, and one clear error per kind of mismatch.
#include <gtest/gtest.h>

#include "core/error.h"
#include "io/hf_config.h"
#include "io/safetensors.h"
#include "model/bert/bert_checkpoint.h"
#include "test_paths.h"

namespace squish {
namespace {

std::string tiny_dir() { return test::fixtures_dir() + "/tiny_bert"; }
BertConfig tiny_config() { return parse_bert_config_file(tiny_dir() + "/config.json"); }
TensorMap tiny_tensors() { return read_safetensors(tiny_dir() + "/model.safetensors"); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(BertCheckpoint, AcceptsUnprefixedAndGammaBetaNames) {
  TensorMap renamed;
  for (const auto& [name, t] : tiny_tensors()) {
    std::string n = name.rfind("bert.", 0) == 0 ? name.substr(5) : name;
    if (const auto p = n.find("LayerNorm.weight"); p != std::string::npos) n.replace(p, 16, "LayerNorm.gamma");
    if (const auto p = n.find("LayerNorm.bias"); p != std::string::npos) n.replace(p, 14, "LayerNorm.beta");
    renamed[n] = t;
  }
  const BertModel a = bert_from_tensors(tiny_config(), tiny_tensors(), "original");
  const BertModel b = bert_from_tensors(tiny_config(), renamed, "renamed");
  EXPECT_EQ(a.weights.layers[1].output_ln_gamma.values, b.weights.layers[1].output_ln_gamma.values);
  EXPECT_EQ(a.weights.embeddings_ln_beta.values, b.weights.embeddings_ln_beta.values);
  EXPECT_EQ(a.parameter_count(), b.parameter_count());
}

TEST(BertCheckpoint, ReportsStoredTensorsTheArchitectureLeaves) {
  TensorMap t = tiny_tensors();
  t["cls.predictions.bias"] = t["classifier.bias"];
  t["bert.embeddings.position_ids"] = t["classifier.bias"];
  std::vector<std::string> unused;
  bert_from_tensors(tiny_config(), t, "w.safetensors", &unused);
  EXPECT_EQ(unused, (std::vector<std::string>{"bert.embeddings.position_ids", "cls.predictions.bias"}));
}

TEST(BertCheckpoint, MissingTensorNamesTensorFileAndShape) {
  TensorMap t = tiny_tensors();
  t.erase("bert.encoder.layer.1.intermediate.dense.weight");
  const std::string msg = error_of([&] { bert_from_tensors(tiny_config(), t, "weights.safetensors"); });
  EXPECT_NE(msg.find("missing tensor 'bert.encoder.layer.1.intermediate.dense.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("weights.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[40, 24]"), std::string::npos) << msg;
}

TEST(BertCheckpoint, WrongShapeSaysExpectedAndFound) {
  TensorMap t = tiny_tensors();
  t["bert.encoder.layer.0.attention.self.key.weight"].shape = {24, 20};
  const std::string msg = error_of([&] { bert_from_tensors(tiny_config(), t, "w.safetensors"); });
  EXPECT_NE(msg.find("expected shape [24, 24], found [24, 20]"), std::string::npos) << msg;
  EXPECT_THROW(bert_from_tensors(tiny_config(), t, "w.safetensors"), ShapeError);
}

TEST(BertCheckpoint, NonFloatTensorIsRejected) {
  TensorMap t = tiny_tensors();
  t["classifier.bias"].dtype = DType::kI32;
  const std::string msg = error_of([&] { bert_from_tensors(tiny_config(), t, "w.safetensors"); });
  EXPECT_NE(msg.find("classifier.bias"), std::string::npos) << msg;
  EXPECT_NE(msg.find("I32"), std::string::npos) << msg;
}

TEST(BertConfigParsing, UnknownModelTypeIsAConfigError) {
  const std::string msg = error_of([] { parse_bert_config_text(R"({"model_type": "gpt2"})", "x/config.json"); });
  EXPECT_NE(msg.find("x/config.json: unknown model_type \"gpt2\""), std::string::npos) << msg;
  EXPECT_THROW(parse_bert_config_text(R"({"model_type": "gpt2"})", "c"), ConfigError);
}

TEST(BertConfigParsing, RejectsBadFieldsByName) {
  EXPECT_THROW(parse_bert_config_text(R"({"model_type":"bert","hidden_size":-4})", "c"), ConfigError);
  EXPECT_THROW(parse_bert_config_text(R"({"model_type":"bert","hidden_size":10,"num_attention_heads":3})", "c"), ConfigError);
  EXPECT_THROW(parse_bert_config_text(R"({"model_type":"bert","hidden_act":"relu"})", "c"), ConfigError);
  EXPECT_THROW(parse_bert_config_text(R"({"model_type":"bert","architectures":["BertForQuestionAnswering"]})", "c"), ConfigError);
  EXPECT_THROW(parse_bert_config_text(R"({"model_type":"bert","num_labels":3,"id2label":{"0":"a","1":"b"}})", "c"), ConfigError);
  EXPECT_THROW(parse_bert_config_text("{\"model_type\": \"bert\",", "c"), FormatError);
  EXPECT_THROW(parse_bert_config_file("/nonexistent/config.json"), IoError);
}

TEST(BertConfigParsing, ReadsTheRealTinyModelConfig) {
  const BertConfig c = parse_bert_config_file(test::shared_dir() + "/models/bert-tiny-sst2-scratch/config.json");
  EXPECT_EQ(c.architecture, "BertForSequenceClassification");
  EXPECT_EQ(c.hidden_size, 128);
  EXPECT_EQ(c.num_hidden_layers, 2);
  EXPECT_EQ(c.num_attention_heads, 2);
  EXPECT_EQ(c.intermediate_size, 512);
  EXPECT_EQ(c.num_labels, 2);
  EXPECT_EQ(c.id2label.at(1), "positive");
  EXPECT_FLOAT_EQ(c.layer_norm_eps, 1e-12f);
}

TEST(BertCheckpoint, RandomModelIsDeterministicForASeed) {
  BertConfig c = tiny_config();
  const BertModel a = random_bert(c, 7), b = random_bert(c, 7), d = random_bert(c, 8);
  EXPECT_EQ(a.weights.layers[0].qkv.weight.values, b.weights.layers[0].qkv.weight.values);
  EXPECT_NE(a.weights.layers[0].qkv.weight.values, d.weights.layers[0].qkv.weight.values);
}

}  // namespace
}  // namespace squish
