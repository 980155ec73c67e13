// The weights-container registry: formats told by their bytes, not their names; sharded indexes;
// metadata returned. And the safetensors writer, read back by squish's own reader (transformers
// reads it in tools/check_export.py).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_util.h"
#include "io/format_error.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"
#include "io/weights_file.h"
#include "test_paths.h"

namespace squish {
namespace {

std::string tiny_safetensors() { return test::fixtures_dir() + "/tiny_bert/model.safetensors"; }
std::string tiny_bin() { return test::shared_dir() + "/models/bert-tiny-sst2-scratch/pytorch_model.bin"; }

std::string copy_to(const std::string& from, const std::string& to) {
  write_file_atomic(to, read_file(from));
  return to;
}

TEST(WeightsFile, FormatIsToldByTheBytesNotTheName) {
  const std::string dir = test::temp_dir("weights_file");
  EXPECT_EQ(detect_weights_format(copy_to(tiny_safetensors(), dir + "/weights.bin")), WeightsFormat::kSafetensors);
  EXPECT_EQ(detect_weights_format(copy_to(tiny_bin(), dir + "/model.safetensors")), WeightsFormat::kTorchZip);
  const WeightsFile a = read_weights_file(dir + "/weights.bin");
  EXPECT_EQ(a.format, "safetensors");
  EXPECT_EQ(a.tensors.size(), read_safetensors(tiny_safetensors()).size());
  const WeightsFile b = read_weights_file(dir + "/model.safetensors");
  EXPECT_EQ(b.format, "torch-zip");
  EXPECT_GT(b.tensors.size(), 0u);
  EXPECT_EQ(b.file_bytes, static_cast<int64_t>(read_file(tiny_bin()).size()));
}

TEST(WeightsFile, UnknownAndLegacyFilesSayWhatTheyAre) {
  const std::string dir = test::temp_dir("weights_file");
  write_file_atomic(dir + "/text.bin", "hello, world");
  test::expect_format_error_of([](const std::string& p) { read_weights_file(p); }, dir + "/text.bin",
                               {"text.bin", "expected a safetensors file, a PyTorch zip checkpoint or a GGUF file", "68 65 6c 6c"});
  write_file_atomic(dir + "/legacy.bin", std::string("\x80\x02\x8a\x0a", 4) + "legacy");
  EXPECT_EQ(detect_weights_format(dir + "/legacy.bin"), WeightsFormat::kLegacyPickle);
  test::expect_format_error_of([](const std::string& p) { read_weights_file(p); }, dir + "/legacy.bin",
                               {"legacy.bin", "legacy (non-zip) PyTorch checkpoint"});
  write_file_atomic(dir + "/empty.bin", "");
  test::expect_format_error_of([](const std::string& p) { read_weights_file(p); }, dir + "/empty.bin", {"an empty file"});
  EXPECT_THROW(read_weights_file(dir + "/absent.bin"), IoError);
}

TEST(WeightsFile, FindsEachHfLayoutInPreferenceOrder) {
  const std::string dir = test::temp_dir("weights_file");
  EXPECT_THROW(find_weights_file(dir), IoError);
  write_file_atomic(dir + "/pytorch_model.bin.index.json", "{}");
  EXPECT_EQ(find_weights_file(dir), dir + "/pytorch_model.bin.index.json");
  write_file_atomic(dir + "/pytorch_model.bin", "x");
  EXPECT_EQ(find_weights_file(dir), dir + "/pytorch_model.bin");
  write_file_atomic(dir + "/model.safetensors.index.json", "{}");
  EXPECT_EQ(find_weights_file(dir), dir + "/model.safetensors.index.json");
  write_file_atomic(dir + "/model.safetensors", "x");
  EXPECT_EQ(find_weights_file(dir), dir + "/model.safetensors");
}

// Splits the tiny checkpoint into two shards with an index, as transformers' save_pretrained does.
TEST(WeightsFile, ReadsAShardedCheckpointThroughItsIndex) {
  const std::string dir = test::temp_dir("weights_file");
  const TensorMap all = read_safetensors(tiny_safetensors());
  std::vector<TensorToWrite> first, second;
  nlohmann::json map = nlohmann::json::object();
  for (const auto& [name, t] : all) {
    auto& shard = name < "bert.encoder.layer.1" ? first : second;
    shard.push_back({name, t.dtype, t.shape, std::string(static_cast<const char*>(t.data), t.nbytes)});
    map[name] = &shard == &first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  write_safetensors(dir + "/model-00001-of-00002.safetensors", first, {{"format", "pt"}});
  write_safetensors(dir + "/model-00002-of-00002.safetensors", second, {{"format", "pt"}});
  write_file_atomic(dir + "/model.safetensors.index.json",
                    nlohmann::json({{"metadata", {{"total_size", 123}}}, {"weight_map", map}}).dump());
  const WeightsFile w = read_weights_file(find_weights_file(dir));
  ASSERT_EQ(w.tensors.size(), all.size());
  EXPECT_EQ(w.paths.size(), 2u);
  EXPECT_EQ(w.metadata.at("format"), "pt");
  EXPECT_EQ(w.metadata.at("total_size"), "123");
  for (const auto& [name, t] : all) {
    const RawTensor& u = w.tensors.at(name);
    ASSERT_EQ(u.nbytes, t.nbytes) << name;
    EXPECT_EQ(std::memcmp(u.data, t.data, t.nbytes), 0) << name;
  }
  // A tensor the index places in a shard that lacks it, and a shard path outside the directory.
  map["bert.pooler.dense.bias"] = "model-00001-of-00002.safetensors";
  write_file_atomic(dir + "/bad.index.json", nlohmann::json({{"weight_map", map}}).dump());
  test::expect_format_error_of([](const std::string& p) { read_weights_file(p); }, dir + "/bad.index.json",
                               {"missing tensor 'bert.pooler.dense.bias'", "model-00001-of-00002.safetensors"});
  write_file_atomic(dir + "/escape.index.json", R"({"weight_map": {"a": "../model.safetensors"}})");
  test::expect_format_error_of([](const std::string& p) { read_weights_file(p); }, dir + "/escape.index.json",
                               {"expected a file name beside the index"});
}

TEST(SafetensorsWriter, RoundTripsBytesShapesDtypesAndMetadata) {
  const std::string dir = test::temp_dir("weights_file");
  Tensor t({2, 3});
  for (int i = 0; i < 6; ++i) t.values[static_cast<size_t>(i)] = 0.1f * static_cast<float>(i) - 0.25f;
  const std::vector<TensorToWrite> tensors = {tensor_to_write("b.f32", t, DType::kF32),
                                              tensor_to_write("a.f16", t, DType::kF16)};
  write_safetensors(dir + "/x.safetensors", tensors, {{"format", "pt"}, {"note", "squish"}});
  std::map<std::string, std::string> meta;
  const TensorMap back = read_safetensors(dir + "/x.safetensors", &meta);
  EXPECT_EQ(meta, (std::map<std::string, std::string>{{"format", "pt"}, {"note", "squish"}}));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back.at("b.f32").dtype, DType::kF32);
  EXPECT_EQ(back.at("a.f16").shape, (Shape{2, 3}));
  std::vector<float> f32(6), f16(6);
  convert_to_f32(f32.data(), back.at("b.f32").data, DType::kF32, 6);
  convert_to_f32(f16.data(), back.at("a.f16").data, DType::kF16, 6);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(f32[i], t.values[i]);
    EXPECT_EQ(f16[i], half_to_float(float_to_half(t.values[i])));
    EXPECT_NEAR(f16[i], t.values[i], 1e-3);
  }
  // The data section starts 64-byte aligned (the format needs 8; in-place readers like 64).
  const std::string bytes = read_file(dir + "/x.safetensors");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  EXPECT_EQ((8 + header_len) % 64, 0u);
  EXPECT_EQ(bytes.size(), 8 + header_len + 6 * 4 + 6 * 2);
}

}  // namespace
}  // namespace squish
