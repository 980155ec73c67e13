// squish's container (model/common/linear_formats.h): a quantized model saved, reloaded and saved
// again is the same bytes and computes the same logits; the plan's checks hold at the library level.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/token_batches.h"
#include "core/error.h"
#include "core/file_util.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"
#include "model/common/int8_linear_weights.h"
#include "model/common/linear_formats.h"
#include "model/load_model.h"
#include "quant/calibration.h"
#include "quant/quantize_model.h"
#include "test_paths.h"

namespace squish {
namespace {

using test::small_batch;

std::string save(const SequenceModel& model, const std::string& tag) {
  const std::string dir = test::temp_dir(tag);
  std::filesystem::copy_file(model.info().config_path, dir + "/config.json");
  write_safetensors(dir + "/model.safetensors", model.container_tensors(), container_metadata(model.container_plan()));
  return dir;
}

void expect_round_trip(SequenceModel& model, const std::string& tag) {
  const std::string first = save(model, tag + "1");
  const auto reloaded = load_model(first);
  EXPECT_TRUE(reloaded->info().squish_container);
  const std::string second = save(*reloaded, tag + "2");
  EXPECT_EQ(read_file(first + "/model.safetensors"), read_file(second + "/model.safetensors"));
  std::vector<float> a, b;
  model.forward(small_batch(), a);
  reloaded->forward(small_batch(), b);
  EXPECT_EQ(a, b);  // bit-exact: the same codes, scales and grids
  ASSERT_EQ(model.linears().size(), reloaded->linears().size());
  for (size_t i = 0; i < model.linears().size(); ++i)
    EXPECT_EQ(model.linears()[i]->weights->format(), reloaded->linears()[i]->weights->format());
}

TEST(QuantizedContainer, StaticPerChannelWithInt8EmbeddingsRoundTripsBitExactly) {
  auto model = load_model(test::fixtures_dir() + "/tiny_bert");
  const int64_t fp32_bytes = model->resident_bytes();
  const TokenBatch batch = small_batch();
  const QuantizeOptions options{WeightGranularity::kPerChannel, true, true};
  const CalibrationResult c =
      calibrate(*model, {&batch, 1}, {}, kActivationQmax, [&](const Linear& l) { return quantized_by_default(l, options); });
  quantize_static(*model, options, c.input_ranges);
  EXPECT_EQ(model->container_plan().embeddings, "int8-rows");
  EXPECT_EQ(model->mutable_word_embeddings().bytes(), 61 * 24 + 61 * 4);  // a byte per value, a scale per row
  EXPECT_LT(model->resident_bytes(), fp32_bytes);
  expect_round_trip(*model, "static");
  const TensorMap t = read_safetensors(save(*model, "embeddings") + "/model.safetensors");
  EXPECT_EQ(t.at("bert.embeddings.word_embeddings.weight").dtype, DType::kI8);
  EXPECT_EQ(t.at("bert.embeddings.word_embeddings.weight_scale").shape, Shape{61});
}

TEST(EmbeddingTable, Int8RowsGatherWhatTheyDequantizeTo) {
  Tensor values({3, 4});
  values.values = {0.5f, -1.0f, 0.25f, 0.0f, 2.0f, 1.0f, -2.0f, 0.5f, 0.0f, 0.0f, 0.0f, 0.0f};
  const EmbeddingTable t = EmbeddingTable::quantized(values, "int8-rows");
  EXPECT_EQ(t.format(), "int8-rows");
  EXPECT_EQ(t.bytes(), 12 + 3 * 4);
  const Tensor back = t.dequantize();
  for (int64_t r = 0; r < 3; ++r) {
    float row[4] = {1, 1, 1, 1};
    t.add_row(r, row);
    for (int64_t c = 0; c < 4; ++c) {
      EXPECT_EQ(row[c], 1 + back.values[static_cast<size_t>(r * 4 + c)]) << r << "," << c;
      EXPECT_NEAR(back.values[static_cast<size_t>(r * 4 + c)], values.values[static_cast<size_t>(r * 4 + c)],
                  (r == 1 ? 2.0f : 1.0f) / 127 / 2 + 1e-7);
    }
  }
}

TEST(QuantizedContainer, DynamicPerTensorWithFp32HeadRoundTripsBitExactly) {
  auto model = load_model(test::fixtures_dir() + "/tiny_bert");
  quantize_dynamic(*model, {WeightGranularity::kPerTensor, false});
  expect_round_trip(*model, "dynamic");
  // Per tensor means one scale per HF module: Q, K and V each store [1].
  const TensorMap t = read_safetensors(save(*model, "scales") + "/model.safetensors");
  for (const char* m : {"query", "key", "value"})
    EXPECT_EQ(t.at(std::string("bert.encoder.layer.0.attention.self.") + m + ".weight_scale").shape, Shape{1}) << m;
  EXPECT_EQ(t.at("bert.encoder.layer.0.attention.self.query.weight").dtype, DType::kI8);
  EXPECT_EQ(t.at("classifier.weight").dtype, DType::kF32);  // the fixture's fp32 values are not all F16-exact
}

// --reduce_range: the 7-bit grids travel in the file (.input_qmax), static and dynamic alike, and a
// file without them means the full 255 steps; any other value is refused, naming the tensor.
TEST(QuantizedContainer, ReducedRangeIsStoredAndReloaded) {
  for (const bool is_static : {true, false}) {
    auto model = load_model(test::fixtures_dir() + "/tiny_bert");
    QuantizeOptions options;
    options.activation_qmax = kReducedActivationQmax;
    const TokenBatch batch = small_batch();
    if (is_static) {
      const CalibrationResult c = calibrate(*model, {&batch, 1}, {}, options.activation_qmax,
                                            [&](const Linear& l) { return quantized_by_default(l, options); });
      quantize_static(*model, options, c.input_ranges);
    } else {
      quantize_dynamic(*model, options);
    }
    expect_round_trip(*model, is_static ? "reduced_static" : "reduced_dynamic");
    const std::string dir = save(*model, "reduced");
    const auto reloaded = load_model(dir);
    for (const Linear* l : reloaded->linears()) {
      const Int8LinearWeights* q = int8_weights_of(*l);
      if (q) {
        EXPECT_EQ(q->activation_qmax(), kReducedActivationQmax);
      }
    }
    TensorMap t = read_safetensors(dir + "/model.safetensors");
    EXPECT_EQ(*static_cast<const uint8_t*>(t.at("bert.encoder.layer.0.attention.self.key.input_qmax").data), 127);
  }
  auto full = load_model(test::fixtures_dir() + "/tiny_bert");
  quantize_dynamic(*full, {});
  const TensorMap t = read_safetensors(save(*full, "full") + "/model.safetensors");
  EXPECT_EQ(t.count("bert.encoder.layer.0.attention.self.key.input_qmax"), 0u);
  for (const Linear* l : load_model(save(*full, "full_reloaded"))->linears()) {
    const Int8LinearWeights* q = int8_weights_of(*l);
    if (q) {
      EXPECT_EQ(q->activation_qmax(), kActivationQmax);
    }
  }
}

TEST(QuantizedContainer, RefusesAnActivationRangeOtherThan127Or255) {
  auto model = load_model(test::fixtures_dir() + "/tiny_bert");
  QuantizeOptions options;
  options.activation_qmax = kReducedActivationQmax;
  quantize_dynamic(*model, options);
  std::vector<TensorToWrite> tensors = model->container_tensors();
  for (TensorToWrite& t : tensors)
    if (t.name == "bert.encoder.layer.0.intermediate.dense.input_qmax") t.bytes = std::string(1, static_cast<char>(200));
  const std::string dir = save(*model, "bad_qmax");
  write_safetensors(dir + "/model.safetensors", tensors, container_metadata(model->container_plan()));
  try {
    load_model(dir);
    FAIL() << "a model with .input_qmax 200 loaded";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("bert.encoder.layer.0.intermediate.dense.input_qmax"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("expected 127"), std::string::npos) << e.what();
  }
}

TEST(QuantizedContainer, Int8AttentionIsStoredAndReloaded) {
  auto model = load_model(test::fixtures_dir() + "/tiny_bert");
  quantize_dynamic(*model, {});
  std::vector<float> fp32_attention, int8_attention;
  model->forward(small_batch(), fp32_attention);
  // Without it the metadata key is absent: containers written before it stay byte-identical.
  std::map<std::string, std::string> metadata;
  read_safetensors(save(*model, "f32_attention") + "/model.safetensors", &metadata);
  EXPECT_EQ(metadata.count("squish.attention"), 0u);
  model->set_attention_arithmetic(AttentionArithmetic::kInt8);
  model->forward(small_batch(), int8_attention);
  EXPECT_NE(fp32_attention, int8_attention);  // the products really are quantized
  for (size_t i = 0; i < fp32_attention.size(); ++i) EXPECT_NEAR(fp32_attention[i], int8_attention[i], 0.05);
  expect_round_trip(*model, "int8_attention");
  const auto reloaded = load_model(save(*model, "int8_attention_reloaded"));
  EXPECT_EQ(reloaded->container_plan().attention, AttentionArithmetic::kInt8);
  std::vector<float> again;
  reloaded->forward(small_batch(), again);
  EXPECT_EQ(again, int8_attention);
}

TEST(QuantizedContainer, RefusesAnUnknownAttentionArithmetic) {
  auto model = load_model(test::fixtures_dir() + "/tiny_bert");
  quantize_dynamic(*model, {});
  auto metadata = container_metadata(model->container_plan());
  metadata["squish.attention"] = "int4";
  const std::string dir = save(*model, "bad_attention");
  write_safetensors(dir + "/model.safetensors", model->container_tensors(), metadata);
  try {
    load_model(dir);
    FAIL() << "a model with attention int4 loaded";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("squish.attention"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("expected f32 or int8"), std::string::npos) << e.what();
  }
}

TEST(QuantizedContainer, PlanMustListEveryLinear) {
  auto model = load_model(test::fixtures_dir() + "/tiny_bert");
  quantize_dynamic(*model, {});
  ContainerPlan plan = model->container_plan();
  plan.linears.erase("classifier");
  const std::string dir = test::temp_dir("partial");
  std::filesystem::copy_file(model->info().config_path, dir + "/config.json");
  write_safetensors(dir + "/model.safetensors", model->container_tensors(), container_metadata(plan));
  try {
    load_model(dir);
    FAIL() << "a plan without the classifier loaded";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("does not list Linear 'classifier'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace squish
