// read_safetensors on the real bert-tiny checkpoint, on library-written fixtures, and on hostile headers
// built byte by byte: each hostile file must give a FormatError whose message names the problem.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <string>

#include "core/error.h"
#include "core/file_util.h"
#include "io/safetensors.h"
#include "io/format_error.h"
#include "test_paths.h"

namespace squish {
namespace {

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

// A safetensors file: 8-byte length, the header text as given, then the data section.
std::string st_file(const std::string& header, const std::string& data) { return le64(header.size()) + header + data; }

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir("safetensors"); }

  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    write_bytes(path, bytes);
    return path;
  }

  // The FormatError message of reading `bytes`, after checking that it names every `needles`.
  std::string expect_format_error(const std::string& bytes, std::initializer_list<const char*> needles) {
    return test::expect_format_error_of([](const std::string& p) { read_safetensors(p); },
                                        write("hostile.safetensors", bytes), needles);
  }

  std::string dir_;
};

TEST_F(SafetensorsTest, ReadsRealBertTiny) {
  const TensorMap m = read_safetensors(test::shared_dir() + "/models/bert-tiny-sst2-scratch/model.safetensors");
  EXPECT_EQ(m.size(), 41u);
  const RawTensor& emb = m.at("bert.embeddings.word_embeddings.weight");
  EXPECT_EQ(emb.dtype, DType::kF32);
  EXPECT_EQ(emb.shape, (Shape{30522, 128}));
  EXPECT_EQ(emb.nbytes, 30522u * 128u * 4u);
  EXPECT_EQ(m.at("classifier.bias").shape, (Shape{2}));
  for (const auto& [name, t] : m) {
    EXPECT_EQ(t.nbytes, static_cast<size_t>(shape_numel(t.shape)) * dtype_size(t.dtype)) << name;
    EXPECT_NE(t.owner, nullptr) << name;
  }
}

TEST_F(SafetensorsTest, TensorsOutliveTheReaderCall) {
  RawTensor kept;
  {
    const TensorMap m = read_safetensors(test::shared_dir() + "/models/bert-tiny-sst2-scratch/model.safetensors");
    kept = m.at("classifier.bias");
  }
  float v[2];
  std::memcpy(v, kept.data, sizeof v);  // the map is gone; `owner` must keep the mapping alive (ASan checks)
  EXPECT_TRUE(v[0] == v[0] && v[1] == v[1]);
}

TEST_F(SafetensorsTest, EveryAcceptedDtypeFromTheLibraryFixture) {
  const TensorMap m = read_safetensors(test::fixtures_dir() + "/checkpoints/dtypes.safetensors");
  ASSERT_EQ(m.size(), 9u);  // __metadata__ is not a tensor
  EXPECT_EQ(m.at("f32").dtype, DType::kF32);
  EXPECT_EQ(m.at("f16").dtype, DType::kF16);
  EXPECT_EQ(m.at("bf16").dtype, DType::kBF16);
  EXPECT_EQ(m.at("f64").dtype, DType::kF64);
  EXPECT_EQ(m.at("i64").dtype, DType::kI64);
  EXPECT_EQ(m.at("i32").dtype, DType::kI32);
  EXPECT_EQ(m.at("i8").dtype, DType::kI8);
  EXPECT_EQ(m.at("u8").dtype, DType::kU8);
  EXPECT_EQ(m.at("bool").dtype, DType::kBool);
  EXPECT_EQ(m.at("f16").shape, (Shape{2, 3}));

  float f16[6];
  convert_to_f32(f16, m.at("f16").data, DType::kF16, 6);
  EXPECT_EQ(f16[0], 1.0f);
  EXPECT_EQ(f16[1], -2.0f);
  EXPECT_EQ(f16[3], 65504.0f);
  float bf16[3];
  convert_to_f32(bf16, m.at("bf16").data, DType::kBF16, 3);
  EXPECT_EQ(bf16[0], 1.0f);
  EXPECT_EQ(bf16[2], 0.015625f);
  EXPECT_NEAR(bf16[1], -3.0e38f, 0.01e38f);
  int64_t i64[2];
  std::memcpy(i64, m.at("i64").data, sizeof i64);
  EXPECT_EQ(i64[0], -(int64_t{1} << 62));
  const auto* b = static_cast<const unsigned char*>(m.at("bool").data);
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(b[1], 0);
}

TEST_F(SafetensorsTest, F16AndBF16BuiltByHand) {
  // F16 0x3c00 = 1.0, 0xc000 = -2.0; BF16 0x3f80 = 1.0, 0x4049 = 3.140625.
  const std::string data("\x00\x3c\x00\xc0\x80\x3f\x49\x40", 8);
  const std::string header =
      R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[1,2],"data_offsets":[4,8]},)"
      R"("__metadata__":{"format":"pt"}})";
  const TensorMap m = read_safetensors(write("halves.safetensors", st_file(header, data)));
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m.at("h").dtype, DType::kF16);
  EXPECT_EQ(m.at("b").dtype, DType::kBF16);
  EXPECT_EQ(m.at("b").shape, (Shape{1, 2}));
  float h[2], bf[2];
  convert_to_f32(h, m.at("h").data, DType::kF16, 2);
  convert_to_f32(bf, m.at("b").data, DType::kBF16, 2);
  EXPECT_EQ(h[0], 1.0f);
  EXPECT_EQ(h[1], -2.0f);
  EXPECT_EQ(bf[0], 1.0f);
  EXPECT_EQ(bf[1], 3.140625f);
}

TEST_F(SafetensorsTest, EmptyTensorsAndPaddedHeaderAreFine) {
  // Writers pad the header with spaces to align the data; zero-size tensors may sit anywhere.
  const std::string header = R"({"e":{"dtype":"F32","shape":[0,4],"data_offsets":[4,4]},"s":{"dtype":"I32","shape":[],"data_offsets":[0,4]}}   )";
  const TensorMap m = read_safetensors(write("empty.safetensors", st_file(header, std::string(4, '\x07'))));
  EXPECT_EQ(m.at("e").nbytes, 0u);
  EXPECT_EQ(m.at("s").shape, Shape{});
  EXPECT_EQ(m.at("s").nbytes, 4u);
}

TEST_F(SafetensorsTest, RejectsFileShorterThanTheLength) {
  expect_format_error(std::string("\x10\x00\x00", 3), {"header length", "3-byte file"});
  expect_format_error("", {"header length", "0-byte file"});
}

TEST_F(SafetensorsTest, RejectsTruncatedRealFile) {
  const std::string full = read_file(test::shared_dir() + "/models/bert-tiny-sst2-scratch/model.safetensors");
  ASSERT_GT(full.size(), 1u << 20);
  // The header survives, the data section is cut: the first tensor past the cut must be named.
  expect_format_error(full.substr(0, 1u << 20), {"tensor 'bert.", "data_offsets end", "truncated"});
}

TEST_F(SafetensorsTest, RejectsHeaderLengthBiggerThanFile) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  std::string bytes = le64(5000) + header + std::string(4, '\0');
  expect_format_error(bytes, {"header length", "found 5000", "truncated"});
}

TEST_F(SafetensorsTest, RejectsAbsurdHeaderLength) {
  expect_format_error(le64(uint64_t{1} << 40) + "{}", {"header length", "at most 100000000", "1099511627776"});
  expect_format_error(le64(~uint64_t{0}) + "{}", {"header length", "18446744073709551615"});
}

TEST_F(SafetensorsTest, RejectsOffsetsOutOfRange) {
  const std::string header = R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[1000,1016]}})";
  expect_format_error(st_file(header, std::string(16, '\0')), {"tensor 'w'", "data_offsets end <= 16", "found 1016"});
}

TEST_F(SafetensorsTest, RejectsOverlappingTensors) {
  const std::string header =
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  expect_format_error(st_file(header, std::string(12, '\0')), {"tensor 'b'", "overlapping tensor 'a'"});
}

TEST_F(SafetensorsTest, RejectsShapeWhoseProductOverflows) {
  // 2^40 * 2^40 wraps to 0 in 64 bits; with data_offsets [0,0] an unchecked product would "match".
  const std::string header = R"({"big":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,0]}})";
  expect_format_error(st_file(header, ""), {"tensor 'big'", "fits 64 bits", "1099511627776"});
  // numel fits, bytes do not: 2^62 elements of 4 bytes.
  const std::string header2 = R"({"big":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})";
  expect_format_error(st_file(header2, ""), {"tensor 'big'", "byte size that fits 64 bits"});
}

TEST_F(SafetensorsTest, RejectsNegativeAndNonIntegerShapes) {
  expect_format_error(st_file(R"({"n":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,0]}})", ""),
                      {"tensor 'n'", "shape entries >= 0", "found -1"});
  expect_format_error(st_file(R"({"n":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", std::string(4, '\0')),
                      {"tensor 'n'", "integers", "1.5"});
  expect_format_error(st_file(R"({"n":{"dtype":"F32","shape":"4","data_offsets":[0,16]}})", std::string(16, '\0')),
                      {"tensor 'n'", "\"shape\" to be an array"});
}

TEST_F(SafetensorsTest, RejectsUnknownDtypeByName) {
  expect_format_error(st_file(R"({"q":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})", std::string(4, '\0')),
                      {"tensor 'q'", "unsupported dtype 'F8_E4M3'", "F32, F16, BF16"});
  expect_format_error(st_file(R"({"q":{"dtype":"I16","shape":[2],"data_offsets":[0,4]}})", std::string(4, '\0')),
                      {"tensor 'q'", "unsupported dtype 'I16'"});
  expect_format_error(st_file(R"({"q":{"dtype":7,"shape":[2],"data_offsets":[0,4]}})", std::string(4, '\0')),
                      {"tensor 'q'", "\"dtype\" to be a string", "found 7"});
}

TEST_F(SafetensorsTest, RejectsBadJson) {
  expect_format_error(st_file(R"({"a": {"dtype": "F32", )", ""), {"header", "expected valid JSON", "parse error"});
  expect_format_error(st_file("\xff\xfe garbage", ""), {"header", "expected valid JSON"});
}

TEST_F(SafetensorsTest, RejectsHeaderThatIsNotAnObject) {
  expect_format_error(st_file("[1, 2, 3]", ""), {"header", "expected a JSON object", "an array of 3"});
  expect_format_error(st_file(R"({"a": 5})", ""), {"tensor 'a'", "expected an object with dtype", "found 5"});
}

TEST_F(SafetensorsTest, RejectsMalformedDataOffsets) {
  const std::string data(16, '\0');
  expect_format_error(st_file(R"({"o":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", data),
                      {"tensor 'o'", "[begin, end]", "an array of 1"});
  expect_format_error(st_file(R"({"o":{"dtype":"F32","shape":[1],"data_offsets":["0",4]}})", data),
                      {"tensor 'o'", "data_offsets entries to be integers", "the string \"0\""});
  expect_format_error(st_file(R"({"o":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", data),
                      {"tensor 'o'", "begin <= end", "[8, 4]"});
  expect_format_error(st_file(R"({"o":{"dtype":"F32","shape":[1],"data_offsets":[-4,4]}})", data),
                      {"tensor 'o'", "data_offsets entries >= 0", "-4"});
  expect_format_error(st_file(R"({"o":{"dtype":"F32","shape":[1],"data_offsets":[0,1e300]}})", data),
                      {"tensor 'o'", "integers"});
  expect_format_error(st_file(R"({"o":{"dtype":"F32","shape":[1]}})", data), {"tensor 'o'", "\"data_offsets\" field"});
}

TEST_F(SafetensorsTest, RejectsRealFileWhoseHeaderLengthIsOneByteShort) {
  // bert-tiny's header ends in padding spaces, so a length one short still parses as JSON; the last
  // space then becomes data byte 0 and every weight would be read one byte off.
  std::string bytes = read_file(test::shared_dir() + "/models/bert-tiny-sst2-scratch/model.safetensors");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  ASSERT_EQ(bytes[8 + header_len - 1], ' ');
  const uint64_t data_size = bytes.size() - 8 - header_len;
  bytes.replace(0, 8, le64(header_len - 1));
  const std::string cut = "[" + std::to_string(data_size) + ", " + std::to_string(data_size + 1) + ")";
  expect_format_error(bytes, {"data section", cut.c_str(), "after the last tensor", "header length too short"});
}

TEST_F(SafetensorsTest, RejectsByteAfterTheLastTensor) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  expect_format_error(st_file(header, std::string(9, '\0')),
                      {"data section", "all 9 bytes", "[8, 9)", "after the last tensor 'a' [0, 8]"});
}

TEST_F(SafetensorsTest, RejectsHoleBetweenTensors) {
  const std::string header =
      R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  expect_format_error(st_file(header, std::string(12, '\0')),
                      {"data section", "[4, 8)", "between tensor 'a' [0, 4] and tensor 'b' [8, 12]"});
}

TEST_F(SafetensorsTest, RejectsBytesBeforeTheFirstTensor) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  expect_format_error(st_file(header, std::string(8, '\0')), {"data section", "[0, 4)", "before the first tensor 'a'"});
}

TEST_F(SafetensorsTest, RejectsDataThatNoTensorOwns) {
  expect_format_error(st_file(R"({"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})", std::string(3, '\0')),
                      {"data section", "no tensor with data", "3 stray bytes"});
}

TEST_F(SafetensorsTest, TensorsStoredOutOfHeaderOrderAreFine) {
  // The header's key order need not follow the data: only the tiling of the bytes matters.
  const std::string data("\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00", 12);
  const std::string header =
      R"({"late":{"dtype":"I32","shape":[1],"data_offsets":[8,12]},"early":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})";
  const TensorMap m = read_safetensors(write("ordered.safetensors", st_file(header, data)));
  int32_t late = 0;
  std::memcpy(&late, m.at("late").data, 4);
  EXPECT_EQ(late, 3);
  EXPECT_EQ(m.at("early").nbytes, 8u);
}

TEST_F(SafetensorsTest, RejectsSizeThatDisagreesWithShape) {
  expect_format_error(st_file(R"({"m":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0')),
                      {"tensor 'm'", "expected 12 bytes", "spanning 8"});
}

TEST_F(SafetensorsTest, RejectsBadMetadata) {
  expect_format_error(st_file(R"({"__metadata__":{"format":1}})", ""), {"__metadata__", "'format'", "string value"});
  expect_format_error(st_file(R"({"__metadata__":[]})", ""), {"__metadata__", "string -> string"});
}

TEST_F(SafetensorsTest, RejectsDuplicateTensorNames) {
  const std::string header =
      R"({"d":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"d":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  expect_format_error(st_file(header, std::string(8, '\0')), {"tensor 'd'", "duplicate"});
}

TEST_F(SafetensorsTest, RejectsDeepNesting) {
  const std::string header = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  expect_format_error(st_file(header, ""), {"header", "nested at most"});
}

TEST_F(SafetensorsTest, ControlBytesInNamesAreEscaped) {
  const std::string header = std::string(R"({"evil)") + "\\u001b[31m" + R"(":{"dtype":"X","shape":[],"data_offsets":[0,0]}})";
  const std::string msg = expect_format_error(st_file(header, ""), {"evil\\x1b[31m", "unsupported dtype 'X'"});
  EXPECT_EQ(msg.find('\x1b'), std::string::npos);
}

TEST_F(SafetensorsTest, MissingFileIsAnIoError) {
  EXPECT_THROW(read_safetensors(dir_ + "/nope.safetensors"), IoError);
}

}  // namespace
}  // namespace squish
