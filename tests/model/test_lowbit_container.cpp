// Mixed-precision models in squish's container (model/common/lowbit_storage.h): every Linear and
// embedding format saved, reloaded and saved again is the same bytes and the same logits, stores
// exactly the documented bytes, and broken stored tensors are refused by name.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "common/token_batches.h"
#include "core/error.h"
#include "core/file_util.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"
#include "kernels/lowbit_scheme.h"
#include "model/common/lowbit_storage.h"
#include "model/load_model.h"
#include "quant/bit_plan.h"
#include "test_paths.h"

namespace squish {
namespace {

using test::small_batch;

std::string save(const SequenceModel& model, const std::string& tag,
                 const std::function<void(std::vector<TensorToWrite>&)>& edit = nullptr) {
  const std::string dir = test::temp_dir(tag);
  std::filesystem::copy_file(model.info().config_path, dir + "/config.json");
  std::vector<TensorToWrite> tensors = model.container_tensors();
  if (edit) edit(tensors);
  write_safetensors(dir + "/model.safetensors", tensors, container_metadata(model.container_plan()));
  return dir;
}

// Layer 0 in every format, layer 1 at 2 bits, the word embeddings as `embeddings`.
std::unique_ptr<SequenceModel> mixed_model(const std::string& embeddings) {
  auto model = load_model(test::fixtures_dir() + "/tiny_bert_k16");
  BitPlan plan;
  const std::vector<std::string> layer0 = {"f16", "int4-g16", "int8-dynamic", "int3-g16"};
  size_t next = 0;
  for (const Linear* l : model->linears()) {
    if (l->layer == 0) plan.linears[l->name] = layer0[next++ % layer0.size()];
    if (l->layer == 1) plan.linears[l->name] = "int2-g16";
  }
  plan.embeddings = embeddings;
  EXPECT_EQ(apply_bit_plan(*model, plan), 8);
  return model;
}

TEST(LowBitContainer, EveryFormatRoundTripsBitExactly) {
  for (const std::string embeddings : {"f16", "int4-g16", "int3-g16", "int2-g16", "int8-rows"}) {
    SCOPED_TRACE(embeddings);
    auto model = mixed_model(embeddings);
    const std::string first = save(*model, "lowbit1");
    const auto reloaded = load_model(first);
    EXPECT_TRUE(reloaded->info().squish_container);
    EXPECT_EQ(read_file(first + "/model.safetensors"), read_file(save(*reloaded, "lowbit2") + "/model.safetensors"));
    std::vector<float> a, b;
    model->forward(small_batch(), a);
    reloaded->forward(small_batch(), b);
    EXPECT_EQ(a, b);
    EXPECT_EQ(reloaded->container_plan().embeddings, embeddings);
    ASSERT_EQ(model->linears().size(), reloaded->linears().size());
    for (size_t i = 0; i < model->linears().size(); ++i)
      EXPECT_EQ(model->linears()[i]->weights->format(), reloaded->linears()[i]->weights->format());
  }
}

TEST(LowBitContainer, StoresTheDocumentedBytes) {
  auto model = mixed_model("int4-g16");
  const TensorMap t = read_safetensors(save(*model, "lowbit_bytes") + "/model.safetensors");
  // Layer 1's FFN out: [32, 64] at 2 bits in groups of 16: codes 32·64/4 bytes, fp16 scale and min per group.
  const std::string out = "bert.encoder.layer.1.output.dense";
  EXPECT_EQ(t.at(out + ".weight_packed").dtype, DType::kU8);
  EXPECT_EQ(t.at(out + ".weight_packed").shape, (Shape{32, 16}));
  EXPECT_EQ(t.at(out + ".weight_scale").dtype, DType::kF16);
  EXPECT_EQ(t.at(out + ".weight_scale").shape, (Shape{32, 4}));
  EXPECT_EQ(t.at(out + ".weight_min").shape, (Shape{32, 4}));
  EXPECT_EQ(t.count(out + ".weight"), 0u);
  EXPECT_EQ(group_stored_bytes({2, 16}, 32, 64), 32 * 16 + 2 * 2 * 32 * 4);
  // Layer 0's FFN out at 3 bits: 64 codes a row in 24 bytes, codes straddling bytes.
  const std::string out0 = "bert.encoder.layer.0.output.dense";
  EXPECT_EQ(t.at(out0 + ".weight_packed").shape, (Shape{32, 24}));
  EXPECT_EQ(group_stored_bytes({3, 16}, 32, 64), 32 * 24 + 2 * 2 * 32 * 4);
  const std::string emb = "bert.embeddings.word_embeddings";
  EXPECT_EQ(t.at(emb + ".weight_packed").shape, (Shape{61, 16}));
  EXPECT_EQ(embedding_stored_bytes("int4-g16", 61, 32), 61 * 16 + 2 * 2 * 61 * 2);
  EXPECT_EQ(embedding_stored_bytes("f16", 61, 32), 61 * 32 * 2);
}

TEST(LowBitContainer, FileSizeIsTheFormulasPlusTheHeader) {
  auto model = mixed_model("int2-g16");
  const std::string path = save(*model, "lowbit_size") + "/model.safetensors";
  const TensorMap t = read_safetensors(path);
  int64_t planned = 0, formula = 0, everything = 0;
  for (const auto& [name, tensor] : t) everything += static_cast<int64_t>(tensor.nbytes);
  for (const Linear* l : model->linears()) {
    const WeightFormat f = parse_weight_format(l->weights->format(), l->name);
    if (f.traits->name == "f32") continue;
    formula += f.traits->stored_bytes(l->out_features(), l->in_features(), f.group_size);
    for (const LinearPart& p : l->parts)
      for (const auto& [name, tensor] : t)
        if (name.rfind("bert." + p.name + ".weight", 0) == 0) planned += static_cast<int64_t>(tensor.nbytes);
  }
  EXPECT_EQ(planned, formula);
  const std::string bytes = read_file(path);
  uint64_t header = 0;
  std::memcpy(&header, bytes.data(), 8);
  EXPECT_EQ(static_cast<int64_t>(bytes.size()), 8 + static_cast<int64_t>(header) + everything);
}

TEST(LowBitContainer, AverageBitsCountStoredBytesPerWeight) {
  auto model = load_model(test::fixtures_dir() + "/tiny_bert_k16");
  BitPlan plan;
  for (const Linear* l : model->linears()) plan.linears[l->name] = "int4-g16";
  plan.embeddings = "int4-g16";
  apply_bit_plan(*model, plan);
  // 4 bits a weight plus two fp16 numbers per group of 16: 4 + 32 / 16.
  EXPECT_DOUBLE_EQ(average_weight_bits(*model), 6.0);
}

TEST(LowBitContainer, BrokenGroupTensorsAreRefusedByName) {
  auto model = mixed_model("int2-g16");
  const std::string name = "bert.encoder.layer.1.output.dense.weight_scale";
  const std::string negative = save(*model, "lowbit_negative", [&](std::vector<TensorToWrite>& tensors) {
    for (TensorToWrite& t : tensors)
      if (t.name == name) t.bytes[1] = static_cast<char>(0xBC);  // fp16 0xBC00 = -1
  });
  try {
    load_model(negative);
    FAIL() << "a negative group scale loaded";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not a positive number"), std::string::npos) << e.what();
  }
  const std::string missing = save(*model, "lowbit_missing", [&](std::vector<TensorToWrite>& tensors) {
    std::erase_if(tensors, [](const TensorToWrite& t) {
      return t.name == "bert.encoder.layer.1.output.dense.weight_min";
    });
  });
  EXPECT_THROW(
      {
        try {
          load_model(missing);
        } catch (const FormatError& e) {
          EXPECT_NE(std::string(e.what()).find("missing tensor 'bert.encoder.layer.1.output.dense.weight_min'"),
                    std::string::npos)
              << e.what();
          throw;
        }
      },
      FormatError);
}

TEST(WeightFormats, NamesParseWithTheirGroupSize) {
  EXPECT_EQ(parse_weight_format("int4-g64", "t").name(), "int4-g64");
  EXPECT_EQ(parse_weight_format("int4-g64", "t").group_size, 64);
  EXPECT_EQ(parse_weight_format("int2-g128", "t").traits->weight_bits, 2);
  EXPECT_EQ(parse_weight_format("f16", "t").traits->weight_bits, 16);
  for (const char* bad : {"int4", "int4-g", "int4-g8", "int4-g24", "int5-g64", "int4-g64x", "f8"})
    EXPECT_THROW(parse_weight_format(bad, "plan"), FormatError) << bad;
  EXPECT_THROW(check_embedding_format("int8-dynamic", "plan"), FormatError);
}

TEST(BitPlan, RefusesWhatItCannotApply) {
  auto model = load_model(test::fixtures_dir() + "/tiny_bert_k16");
  const auto plan = [](const char* linear, const char* format) {
    BitPlan p;
    p.linears[linear] = format;
    return p;
  };
  EXPECT_THROW(apply_bit_plan(*model, plan("encoder.layer.9.output.dense", "f16")), UsageError);
  EXPECT_THROW(apply_bit_plan(*model, plan("classifier", "int8-static")), UsageError);
  // A group size that does not divide the input width (32) is a clear error, not a crash.
  EXPECT_THROW(apply_bit_plan(*model, plan("encoder.layer.0.attention.output.dense", "int4-g48")),
               ShapeError);
  const nlohmann::json good = {{"squish", "bit-plan"}, {"version", 1}, {"linears", {{"pooler", "f16"}}}};
  EXPECT_EQ(bit_plan_from_json(good, "plan.json").linears.at("pooler"), "f16");
  for (const nlohmann::json& bad :
       {nlohmann::json{{"version", 1}, {"linears", nlohmann::json::object()}},
        nlohmann::json{{"squish", "bit-plan"}, {"version", 3}, {"linears", nlohmann::json::object()}},
        nlohmann::json{{"squish", "bit-plan"}, {"version", 1}, {"linears", {{"pooler", 4}}}},
        nlohmann::json{{"squish", "bit-plan"}, {"version", 1}, {"linears", {{"pooler", "int5"}}}}})
    EXPECT_THROW(bit_plan_from_json(bad, "plan.json"), FormatError) << bad.dump();
}

}  // namespace
}  // namespace squish
