// The GGUF reader and ggml dequantization: every type bit-exact against the PyPI `gguf` package
// (tests/fixtures/gguf/, made by tools/make_gguf_fixtures.py), metadata of every value type, the weights
// registry, a corpus of hostile files built byte by byte (each a FormatError naming the file, never a
// crash: this suite also runs under ASan/UBSan), and the real SmolLM2-135M-Instruct file.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/error.h"
#include "core/file_util.h"
#include "io/format_error.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "io/weights_file.h"
#include "test_paths.h"

namespace squish {
namespace {

using nlohmann::json;

std::string fixture(const std::string& name) { return test::fixtures_dir() + "/gguf/" + name; }

// Index of the first element whose fp32 bits differ, or -1.
int64_t first_bit_difference(const float* a, const void* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (std::memcmp(a + i, static_cast<const char*>(b) + 4 * i, 4) != 0) return i;
  return -1;
}

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

TEST(Gguf, ReadsMetadataOfEveryValueTypeAndTensorInfos) {
  const json expected = json::parse(read_file(fixture("types.expected.json")));
  const GgufFile f = read_gguf(fixture("types.gguf"));
  EXPECT_EQ(f.version, 3u);
  EXPECT_EQ(f.alignment, 32u);
  EXPECT_EQ(f.file_bytes, static_cast<int64_t>(read_file(fixture("types.gguf")).size()));
  EXPECT_EQ(f.metadata, expected["metadata"]) << f.metadata.dump(1);
  // Integer kinds as written: unsigned stays unsigned, 2^64 - 1 and -2^63 exactly.
  EXPECT_EQ(f.metadata["test.u64"].get<uint64_t>(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(f.metadata["test.i64"].get<int64_t>(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(f.metadata["test.f32"].get<double>(), static_cast<double>(0.1f));
  ASSERT_EQ(f.tensors.size(), expected["tensors"].size());
  for (size_t i = 0; i < f.tensors.size(); ++i) {
    const auto& e = expected["tensors"][i];
    const GgufTensor& t = f.tensors[i];
    EXPECT_EQ(t.name, e["name"]);
    EXPECT_EQ(ggml_type_name(t.type), e["type"].get<std::string>()) << t.name;
    EXPECT_EQ(t.shape, e["shape"].get<Shape>()) << t.name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % 32, 0u) << t.name;
    EXPECT_EQ(f.find(t.name), &t);
  }
  EXPECT_EQ(f.find("absent"), nullptr);
}

TEST(Gguf, DequantizesEveryTypeBitExactlyAsTheGgufPackage) {
  const GgufFile f = read_gguf(fixture("types.gguf"));
  const TensorMap expected = read_safetensors(fixture("types.expected.safetensors"));
  ASSERT_EQ(expected.size(), f.tensors.size());
  for (const GgufTensor& t : f.tensors) {
    const RawTensor& e = expected.at(t.name);
    const Tensor got = dequantize_gguf_tensor(t);
    ASSERT_EQ(got.shape, e.shape) << t.name;
    const int64_t diff = first_bit_difference(got.data(), e.data, got.numel());
    if (diff >= 0) {
      float want;
      std::memcpy(&want, static_cast<const char*>(e.data) + 4 * diff, 4);
      ADD_FAILURE() << t.name << " (" << ggml_type_name(t.type) << ") element " << diff << ": got bits " << std::hex
                    << bits_of(got.data()[diff]) << ", gguf gives " << bits_of(want);
    }
  }
}

TEST(Gguf, DequantizeGgmlRefusesPartBlocksAndTypesWithoutConversion) {
  const std::string block(18, '\0');
  float out[32];
  EXPECT_THROW(dequantize_ggml(GgmlType::kQ4_0, block.data(), out, 31), FormatError);
  try {
    dequantize_ggml(GgmlType::kIQ2_XXS, block.data(), out, 256);
    ADD_FAILURE() << "IQ2_XXS was converted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("IQ2_XXS"), std::string::npos) << e.what();
  }
  GgufTensor t;
  t.name = "blk.0.ffn_up.weight";
  t.type = GgmlType::kQ4_1;
  t.shape = {2, 48};
  try {
    dequantize_gguf_tensor(t);
    ADD_FAILURE() << "a row of 48 Q4_1 elements was converted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.ffn_up.weight"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("whole 32-element blocks, found rows of 48"), std::string::npos) << e.what();
  }
}

TEST(Gguf, IsToldByItsMagicAndReadThroughTheWeightsRegistry) {
  const std::string dir = test::temp_dir("gguf");
  const std::string renamed = dir + "/weights.bin";
  write_file_atomic(renamed, read_file(fixture("types.gguf")));
  EXPECT_TRUE(is_gguf_file(renamed));
  EXPECT_FALSE(is_gguf_file(fixture("types.expected.safetensors")));
  EXPECT_THROW(is_gguf_file(dir + "/absent.gguf"), IoError);
  EXPECT_EQ(detect_weights_format(renamed), WeightsFormat::kGguf);

  const WeightsFile w = read_weights_file(renamed);
  EXPECT_EQ(w.format, "gguf");
  EXPECT_EQ(w.metadata.at("general.architecture"), "squishtest");
  EXPECT_EQ(w.metadata.at("llama.block_count"), "2");
  EXPECT_EQ(w.metadata.count("test.array_i32"), 0u);  // arrays (a vocabulary) stay out of the string map
  const TensorMap expected = read_safetensors(fixture("types.expected.safetensors"));
  ASSERT_EQ(w.tensors.size(), expected.size());
  for (const auto& [name, e] : expected) {
    const RawTensor& t = w.tensors.at(name);
    EXPECT_EQ(t.dtype, DType::kF32);
    ASSERT_EQ(t.shape, e.shape) << name;
    ASSERT_EQ(t.nbytes, e.nbytes) << name;
    EXPECT_EQ(first_bit_difference(static_cast<const float*>(t.data), e.data, shape_numel(t.shape)), -1) << name;
  }
}

// GGUF v2 has v3's layout (v3 added big-endian files, which squish does not read).
TEST(Gguf, ReadsVersion2) {
  std::string bytes = read_file(fixture("types.gguf"));
  bytes[4] = 2;
  const std::string path = test::temp_dir("gguf") + "/v2.gguf";
  write_file_atomic(path, bytes);
  const GgufFile f = read_gguf(path);
  EXPECT_EQ(f.version, 2u);
  EXPECT_EQ(f.tensors.size(), read_gguf(fixture("types.gguf")).tensors.size());
}

// Builds GGUF files field by field, for the hostile corpus.
class Bytes {
 public:
  Bytes& u8(uint8_t v) { return raw(&v, 1); }
  Bytes& u32(uint32_t v) { return le(v, 4); }
  Bytes& u64(uint64_t v) { return le(v, 8); }
  Bytes& str(const std::string& s) {
    u64(s.size());
    s_ += s;
    return *this;
  }
  Bytes& raw(const void* p, size_t n) {
    s_.append(static_cast<const char*>(p), n);
    return *this;
  }
  Bytes& pad_to(size_t alignment) {
    s_.append((alignment - s_.size() % alignment) % alignment, '\0');
    return *this;
  }
  Bytes& zeros(size_t n) {
    s_.append(n, '\0');
    return *this;
  }
  const std::string& str() const { return s_; }

 private:
  Bytes& le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) s_ += static_cast<char>((v >> (8 * i)) & 0xff);
    return *this;
  }
  std::string s_;
};

struct TensorSpec {
  std::string name = "t";
  std::vector<uint64_t> ne = {4};
  uint32_t type = 0;  // F32
  uint64_t offset = 0;
  std::optional<uint32_t> n_dims;  // ne.size() unless set
};

TensorSpec tensor_spec(std::string name, std::vector<uint64_t> ne = {4}, uint32_t type = 0, uint64_t offset = 0) {
  TensorSpec t;
  t.name = std::move(name);
  t.ne = std::move(ne);
  t.type = type;
  t.offset = offset;
  return t;
}

struct FileSpec {
  std::string magic = "GGUF";
  uint32_t version = 3;
  std::optional<uint64_t> tensor_count, kv_count;  // the real counts unless set
  std::vector<std::string> kvs;                    // encoded key/values (key, type, value)
  std::vector<TensorSpec> tensors = {TensorSpec{}};
  size_t data_bytes = 16;
};

std::string kv_u32(const std::string& key, uint32_t v) { return Bytes().str(key).u32(4).u32(v).str(); }

std::string build(const FileSpec& spec) {
  Bytes b;
  b.raw(spec.magic.data(), spec.magic.size()).u32(spec.version);
  b.u64(spec.tensor_count.value_or(spec.tensors.size())).u64(spec.kv_count.value_or(spec.kvs.size()));
  for (const auto& kv : spec.kvs) b.raw(kv.data(), kv.size());
  for (const auto& t : spec.tensors) {
    b.str(t.name).u32(t.n_dims.value_or(static_cast<uint32_t>(t.ne.size())));
    for (uint64_t n : t.ne) b.u64(n);
    b.u32(t.type).u64(t.offset);
  }
  return b.pad_to(32).zeros(spec.data_bytes).str();
}

class GgufHostile : public ::testing::Test {
 protected:
  // Plain writes: the corpus is hundreds of files, and an atomic write's fsync costs ~10 ms each.
  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
  }
  // The file must give a FormatError naming it and every needle.
  void expect_refused(const std::string& name, const FileSpec& spec, std::initializer_list<const char*> needles) {
    SCOPED_TRACE(name);
    test::expect_format_error_of([](const std::string& p) { read_gguf(p); }, write(name, build(spec)), needles);
  }
  std::string dir_ = test::temp_dir("gguf_hostile");
};

TEST_F(GgufHostile, TheBuilderMakesAValidFile) {
  FileSpec spec;
  spec.kvs = {kv_u32("general.alignment", 32), Bytes().str("k").u32(8).str("v").str()};
  // An empty tensor (found by the fuzzer: its fp32 buffer is null) may sit at any aligned offset.
  spec.tensors = {tensor_spec("a", {2, 2}, 0, 0), tensor_spec("b", {32}, 2, 32), tensor_spec("empty", {4, 0}, 0, 0),
                  tensor_spec("empty_q", {0, 32}, 8, 64)};
  spec.data_bytes = 64;
  const std::string path = write("valid.gguf", build(spec));
  const GgufFile f = read_gguf(path);
  ASSERT_EQ(f.tensors.size(), 4u);
  EXPECT_EQ(f.tensors[0].shape, (Shape{2, 2}));
  EXPECT_EQ(f.tensors[1].type, GgmlType::kQ4_0);
  EXPECT_EQ(f.tensors[1].nbytes, 18u);
  EXPECT_EQ(f.tensors[2].shape, (Shape{0, 4}));
  EXPECT_EQ(f.tensors[2].nbytes, 0u);
  EXPECT_EQ(f.metadata["k"], "v");
  const WeightsFile w = read_weights_file(path);
  EXPECT_EQ(w.tensors.at("empty").nbytes, 0u);
  EXPECT_EQ(w.tensors.at("empty_q").shape, (Shape{32, 0}));
}

TEST_F(GgufHostile, BadMagicAndVersions) {
  FileSpec spec;
  spec.magic = "GGUX";
  expect_refused("magic.gguf", spec, {"magic", "expected \"GGUF\""});
  spec = FileSpec{};
  spec.version = 1;
  expect_refused("v1.gguf", spec, {"expected version 2 or 3, found 1", "GGUF v1"});
  spec.version = 0x03000000u;
  expect_refused("big_endian.gguf", spec, {"big-endian"});
  test::expect_format_error_of([](const std::string& p) { read_gguf(p); }, write("empty.gguf", ""),
                               {"magic", "truncated"});
}

TEST_F(GgufHostile, HugeCountsAndLengths) {
  FileSpec spec;
  spec.tensor_count = uint64_t{1} << 62;
  expect_refused("tensor_count.gguf", spec, {"header", "tensors", "found 4611686018427387904"});
  spec = FileSpec{};
  spec.kv_count = ~uint64_t{0};
  expect_refused("kv_count.gguf", spec, {"key/value pairs", "found 18446744073709551615"});
  spec = FileSpec{};
  spec.kvs = {Bytes().u64(uint64_t{1} << 40).str()};
  spec.kv_count = 1;
  expect_refused("key_length.gguf", spec, {"key/value 0", "expected a string of 1099511627776 bytes"});
  spec = FileSpec{};
  spec.kvs = {Bytes().str("s").u32(8).u64(~uint64_t{0}).str()};
  expect_refused("string_length.gguf", spec, {"key 's'", "expected a string of 18446744073709551615 bytes"});
  spec = FileSpec{};
  spec.kvs = {Bytes().str("arr").u32(9).u32(5).u64(uint64_t{1} << 61).str()};
  expect_refused("array_count.gguf", spec, {"key 'arr'", "int32 elements", "found 2305843009213693952"});
  spec = FileSpec{};
  spec.tensors[0].name = std::string(8, 'x');
  std::string bytes = build(spec);
  const size_t name_length_at = 4 + 4 + 8 + 8;
  bytes[name_length_at + 5] = '\x01';  // the name's length becomes 2^40 + 8
  test::expect_format_error_of([](const std::string& p) { read_gguf(p); }, write("name_length.gguf", bytes),
                               {"tensor info 0", "expected a string of 1099511627784 bytes"});
}

TEST_F(GgufHostile, BadValues) {
  FileSpec spec;
  spec.kvs = {Bytes().str("k").u32(13).u32(0).str()};
  expect_refused("value_type.gguf", spec, {"key 'k'", "expected a value type 0-12, found 13"});
  spec.kvs = {Bytes().str("k").u32(9).u32(99).u64(1).str()};
  expect_refused("element_type.gguf", spec, {"key 'k'", "expected an array element type 0-12, found 99"});
  spec.kvs = {Bytes().str("k").u32(7).u8(2).str()};
  expect_refused("bool.gguf", spec, {"key 'k'", "expected a bool of 0 or 1, found 2"});
  Bytes nested;
  nested.str("deep").u32(9);
  for (int i = 0; i < 40; ++i) nested.u32(9).u64(1);
  nested.u32(0).u64(0);
  spec.kvs = {nested.str()};
  expect_refused("nested.gguf", spec, {"key 'deep'", "nested at most 16 deep"});
  spec.kvs = {kv_u32("a", 1), kv_u32("a", 2)};
  expect_refused("duplicate_key.gguf", spec, {"key 'a'", "expected each key once"});
  spec.kvs = {kv_u32("general.alignment", 48)};
  expect_refused("alignment.gguf", spec, {"key 'general.alignment'", "expected a power of two, found 48"});
  spec.kvs = {kv_u32("general.alignment", 0)};
  expect_refused("alignment0.gguf", spec, {"expected a power of two, found 0"});
  spec.kvs = {Bytes().str("general.alignment").u32(10).u64(32).str()};
  expect_refused("alignment_u64.gguf", spec, {"key 'general.alignment'", "expected a uint32, found a uint64"});
}

TEST_F(GgufHostile, BadTensorInfos) {
  FileSpec spec;
  spec.tensors[0].ne = {1, 1, 1, 1, 1};
  expect_refused("n_dims5.gguf", spec, {"tensor 't'", "expected at most 4 dimensions, found 5"});
  spec.tensors[0].ne = {uint64_t{1} << 32, uint64_t{1} << 32};
  expect_refused("dims_overflow.gguf", spec, {"tensor 't'", "element count that fits 63 bits"});
  spec.tensors[0].ne = {uint64_t{1} << 63};
  expect_refused("dim_2_63.gguf", spec, {"tensor 't'", "element count that fits 63 bits"});
  spec.tensors[0].ne = {uint64_t{1} << 62};
  expect_refused("bytes_overflow.gguf", spec, {"tensor 't'", "byte size that fits 64 bits"});
  spec.tensors[0].ne = {4};
  spec.tensors[0].type = 4;  // Q4_2, retired from ggml
  expect_refused("type4.gguf", spec, {"tensor 't'", "unknown type number 4"});
  spec.tensors[0].type = 1000;
  expect_refused("type1000.gguf", spec, {"tensor 't'", "unknown type number 1000"});
  spec.tensors[0].type = 2;
  spec.tensors[0].ne = {33, 2};
  expect_refused("part_block.gguf", spec, {"tensor 't'", "whole Q4_0 blocks (32 elements), found rows of 33"});
  spec.tensors = {tensor_spec("same"), tensor_spec("same", {4}, 0, 32)};
  spec.data_bytes = 64;
  expect_refused("duplicate_name.gguf", spec, {"tensor 'same'", "expected each tensor name once"});
  spec.tensors[0].name = std::string("\x01\xff", 2);
  spec.tensors[0].n_dims = 9;
  expect_refused("name_printed.gguf", spec, {"tensor '\\x01", "found 9"});
}

TEST_F(GgufHostile, TensorsOutsideTheFileMisalignedOrOverlapping) {
  FileSpec spec;
  spec.tensors[0].offset = 32;
  expect_refused("offset_past_end.gguf", spec, {"tensor 't'", "offset 32 + 16 bytes", "offset out of range"});
  spec.tensors[0].offset = ~uint64_t{0} - 31;
  expect_refused("offset_wraps.gguf", spec, {"tensor 't'", "offset out of range"});
  spec.tensors[0].offset = 0;
  spec.data_bytes = 15;
  expect_refused("short_data.gguf", spec, {"tensor 't'", "offset 0 + 16 bytes"});
  spec.data_bytes = 64;
  spec.tensors[0].offset = 4;
  expect_refused("misaligned.gguf", spec, {"tensor 't'", "multiple of the alignment 32, found 4"});
  spec.tensors = {tensor_spec("a", {16}, 0, 0), tensor_spec("b", {4}, 0, 32)};
  expect_refused("overlap.gguf", spec, {"tensor 'b'", "inside tensor 'a' [0, 64)"});
  spec.kvs = {kv_u32("general.alignment", 64)};
  spec.tensors = {tensor_spec("a", {4}, 0, 32)};
  expect_refused("misaligned64.gguf", spec, {"multiple of the alignment 64, found 32"});
}

// A valid file whose tensor squish cannot convert reads, and the registry (which converts) names it.
TEST_F(GgufHostile, TheRegistryRefusesATypeWithoutDequantization) {
  FileSpec spec;
  spec.tensors[0].type = 24;  // I8
  const std::string path = write("i8.gguf", build(spec));
  EXPECT_EQ(read_gguf(path).tensors.at(0).type, GgmlType::kI8);
  test::expect_format_error_of([](const std::string& p) { read_weights_file(p); }, path,
                               {"tensor 't'", "expected a type squish dequantizes", "found I8"});
}

// Every prefix of the valid fixture is refused, wherever it is cut: in the header, a key, a value, an array,
// a tensor info, the padding or a tensor's data. Only a cut inside the padding after the last tensor (GGUF
// pads to the alignment, 32) leaves a valid file.
TEST_F(GgufHostile, TruncatedAnywhere) {
  const std::string bytes = read_file(fixture("types.gguf"));
  const std::string path = write("truncated.gguf", bytes);
  for (size_t n = bytes.size(); n-- > 0;) {
    std::filesystem::resize_file(path, n);
    try {
      read_gguf(path);
      EXPECT_GT(n + 32, bytes.size()) << "a prefix of " << n << " bytes was accepted";
    } catch (const FormatError& e) {
      ASSERT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
}

// SmolLM2-135M-Instruct as published (tools/fetch_smollm2.sh), at test::smollm2_gguf(): a missing file is a
// failure, not a skip, so a machine without it cannot pass the suite silently.
uint64_t checksum(const Tensor& t, bool weighted) {
  uint64_t sum = 0;
  for (int64_t i = 0; i < t.numel(); ++i)
    sum += static_cast<uint64_t>(bits_of(t.data()[i])) * (weighted ? static_cast<uint64_t>(i + 1) : 1);
  return sum;
}

TEST(GgufSmolLM2, ReadsTheRealModelAndDequantizesBitExactly) {
  const std::string path = test::smollm2_gguf();
  ASSERT_TRUE(std::filesystem::is_regular_file(path))
      << "no SmolLM2 GGUF at " << path << ": run `bash tools/fetch_smollm2.sh` (or set SQUISH_SMOLLM2_GGUF)";
  const json expected = json::parse(read_file(fixture("smollm2.expected.json")));
  const GgufFile f = read_gguf(path);
  EXPECT_EQ(f.version, 3u);
  EXPECT_EQ(f.tensors.size(), expected["tensor_count"].get<size_t>());
  EXPECT_EQ(f.tensors.size(), 272u);
  for (const auto& [key, value] : expected["metadata"].items()) EXPECT_EQ(f.metadata.at(key), value) << key;
  EXPECT_EQ(f.metadata.at("llama.block_count"), 30);
  for (const auto& [key, size] : expected["array_sizes"].items())
    EXPECT_EQ(f.metadata.at(key).size(), size.get<size_t>()) << key;
  for (size_t i = 0; i < expected["first_tokens"].size(); ++i)
    EXPECT_EQ(f.metadata["tokenizer.ggml.tokens"][i], expected["first_tokens"][i]);

  for (const auto& e : expected["tensors"]) {
    const std::string name = e["name"];
    const GgufTensor* t = f.find(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(ggml_type_name(t->type), e["type"].get<std::string>()) << name;
    EXPECT_EQ(t->shape, e["shape"].get<Shape>()) << name;
    const Tensor values = dequantize_gguf_tensor(*t);
    const auto& indices = e["indices"];
    for (size_t i = 0; i < indices.size(); ++i) {
      const auto at = indices[i].get<int64_t>();
      ASSERT_EQ(bits_of(values.data()[at]), e["bits"][i].get<uint32_t>()) << name << " element " << at;
    }
    EXPECT_EQ(checksum(values, false), e["bits_sum"].get<uint64_t>()) << name;
    EXPECT_EQ(checksum(values, true), e["bits_weighted_sum"].get<uint64_t>()) << name;
  }
}

}  // namespace
}  // namespace squish
