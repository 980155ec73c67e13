// Binding named tensors to the model: name variants, and one clear error per kind of mismatch.
#include <gtest/gtest.h>

#include "core/error.h"
#include "model/bert/bert_config_file.h"
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
  EXPECT_DOUBLE_EQ(c.layer_norm_eps, 1e-12);  // as written, not rounded to float
}

TEST(BertCheckpoint, RandomModelIsDeterministicForASeed) {
  BertConfig c = tiny_config();
  const BertModel a = random_bert(c, 7), b = random_bert(c, 7), d = random_bert(c, 8);
  EXPECT_EQ(linear_dequantize(a.weights.layers[0].qkv).values, linear_dequantize(b.weights.layers[0].qkv).values);
  EXPECT_NE(linear_dequantize(a.weights.layers[0].qkv).values, linear_dequantize(d.weights.layers[0].qkv).values);
}

// Walking the name table backward gives every stored tensor back, byte for byte, under its name:
// the fused QKV split into its parts, nothing invented, nothing left out.
TEST(BertCheckpoint, SavingGivesBackEveryStoredTensorExactly) {
  const TensorMap stored = tiny_tensors();
  const BertModel model = bert_from_tensors(tiny_config(), stored, "w.safetensors");
  const std::vector<TensorToWrite> saved = bert_checkpoint_tensors(model, DType::kF32);
  ASSERT_EQ(saved.size(), stored.size());
  for (const TensorToWrite& t : saved) {
    ASSERT_TRUE(stored.count(t.name)) << t.name;
    const RawTensor& s = stored.at(t.name);
    ASSERT_EQ(s.dtype, DType::kF32) << t.name;
    EXPECT_EQ(t.shape, s.shape) << t.name;
    EXPECT_EQ(t.bytes, std::string(static_cast<const char*>(s.data), s.nbytes)) << t.name;
  }
}

TEST(BertCheckpoint, LinearsKnowTheHfModulesTheyCameFrom) {
  const BertModel model = bert_from_tensors(tiny_config(), tiny_tensors(), "w.safetensors");
  const auto linears = model.linears();
  ASSERT_EQ(linears.size(), 2u * 4 + 2);
  const Linear& qkv = *linears[4];
  EXPECT_EQ(qkv.name, "encoder.layer.1.attention.self.qkv");
  EXPECT_EQ(qkv.role, LinearRole::kAttentionQkv);
  EXPECT_EQ(qkv.layer, 1);
  ASSERT_EQ(qkv.parts.size(), 3u);
  EXPECT_EQ(qkv.parts[1].name, "encoder.layer.1.attention.self.key");
  EXPECT_EQ(qkv.parts[1].rows, 24);
  EXPECT_EQ(linears[7]->name, "encoder.layer.1.output.dense");
  EXPECT_EQ(linears[7]->role, LinearRole::kFfnOut);
  EXPECT_EQ(linears[9]->name, "classifier");
  EXPECT_EQ(linears[9]->layer, -1);
  // Resident bytes are the Linears' own representation plus every other tensor in fp32.
  int64_t linear_bytes_sum = 0, linear_params = 0;
  for (const Linear* l : linears) {
    linear_bytes_sum += linear_bytes(*l);
    linear_params += linear_parameters(*l);
  }
  EXPECT_EQ(model.resident_bytes(), linear_bytes_sum + (model.parameter_count() - linear_params) * 4);
}

TEST(BertCheckpoint, EncoderWithStoredPoolerCountsIt) {
  TensorMap t;
  for (const auto& [name, raw] : tiny_tensors())
    if (name.rfind("classifier.", 0) != 0) t[name.substr(name.rfind("bert.", 0) == 0 ? 5 : 0)] = raw;
  BertConfig c = tiny_config();
  c.architecture = "BertModel";
  std::vector<std::string> unused;
  const BertModel encoder = bert_from_tensors(c, t, "encoder.safetensors", &unused);
  EXPECT_TRUE(unused.empty());
  EXPECT_TRUE(encoder.weights.has_pooler);
  EXPECT_FALSE(encoder.weights.has_classifier);
  EXPECT_EQ(encoder.parameter_groups().back().first, "pooler");
  // Saved as an encoder: no "bert." prefix, as HF's BertModel.save_pretrained writes.
  for (const auto& s : bert_checkpoint_tensors(encoder, DType::kF32)) EXPECT_EQ(s.name.rfind("bert.", 0), std::string::npos);
}

}  // namespace
}  // namespace squish
