// read_torch_zip and the restricted unpickler: the real bert-tiny checkpoint must match its safetensors
// twin byte for byte, torch-written fixtures (views, dtypes, protocols 2 and 4) must match their
// contiguous copies, and hostile pickles and archives, built here byte by byte, must be FormatErrors that
// name the problem without anything being executed.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/file_util.h"
#include "io/safetensors.h"
#include "io/torch_zip.h"
#include "io/unpickler.h"
#include "io/format_error.h"
#include "test_paths.h"

namespace squish {
namespace {

// ---- a minimal writer of STORED zip archives, so every header field is under the test's control ----

uint32_t crc32(const std::string& s) {
  uint32_t c = 0xffffffffu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

void put16(std::string& s, uint32_t v) {
  s += static_cast<char>(v & 0xff);
  s += static_cast<char>((v >> 8) & 0xff);
}
void put32(std::string& s, uint32_t v) {
  put16(s, v & 0xffff);
  put16(s, v >> 16);
}

struct ZipEntry {
  std::string name, data;
  bool bad_crc = false;
};

std::string make_zip(const std::vector<ZipEntry>& entries) {
  std::string out, central;
  for (const auto& e : entries) {
    const uint32_t offset = static_cast<uint32_t>(out.size());
    const uint32_t crc = crc32(e.data) ^ (e.bad_crc ? 1u : 0u);
    std::string common;
    put16(common, 0);  // flags
    put16(common, 0);  // method: stored
    put16(common, 0);  // time
    put16(common, 0x21);  // date 1980-01-01
    put32(common, crc);
    put32(common, static_cast<uint32_t>(e.data.size()));
    put32(common, static_cast<uint32_t>(e.data.size()));
    put16(common, static_cast<uint32_t>(e.name.size()));
    put16(common, 0);  // extra length
    put32(out, 0x04034b50);
    put16(out, 20);
    out += common + e.name + e.data;
    put32(central, 0x02014b50);
    put16(central, 20);
    put16(central, 20);
    central += common;
    put16(central, 0);  // comment
    put16(central, 0);  // disk
    put16(central, 0);  // internal attributes
    put32(central, 0);  // external attributes
    put32(central, offset);
    central += e.name;
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += central;
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<uint32_t>(entries.size()));
  put16(out, static_cast<uint32_t>(entries.size()));
  put32(out, static_cast<uint32_t>(central.size()));
  put32(out, cd_offset);
  put16(out, 0);
  return out;
}

// ---- a pickle assembler: just enough opcodes to write state dicts and attacks ----

class Pickle {
 public:
  Pickle& raw(const std::string& s) { b_ += s; return *this; }
  Pickle& op(unsigned char c) { b_ += static_cast<char>(c); return *this; }
  Pickle& proto(int v) { return op(0x80).op(static_cast<unsigned char>(v)); }
  Pickle& mark() { return op('('); }
  Pickle& tuple() { return op('t'); }
  Pickle& stop() { return op('.'); }
  Pickle& global(const std::string& module, const std::string& name) { return op('c').raw(module + "\n" + name + "\n"); }
  Pickle& str(const std::string& s) {
    op('X');
    put32(b_, static_cast<uint32_t>(s.size()));
    return raw(s);
  }
  Pickle& short_str(const std::string& s) { return op(0x8c).op(static_cast<unsigned char>(s.size())).raw(s); }
  Pickle& integer(int32_t v) {
    op('J');
    put32(b_, static_cast<uint32_t>(v));
    return *this;
  }
  Pickle& ints(const std::vector<int64_t>& v) {
    mark();
    for (int64_t x : v) integer(static_cast<int32_t>(x));
    return tuple();
  }
  const std::string& bytes() const { return b_; }

 private:
  std::string b_;
};

struct Spec {
  std::string name, storage_class = "FloatStorage", key = "0";
  int64_t numel = 4, offset = 0;
  std::vector<int64_t> shape{4}, stride{1};
};

// What torch.save writes for {name: tensor, ...} (protocol 2, plain dict).
std::string state_dict_pickle(const std::vector<Spec>& specs) {
  Pickle p;
  p.proto(2).op('}').mark();
  for (const auto& s : specs) {
    p.str(s.name).global("torch._utils", "_rebuild_tensor_v2").mark();
    p.mark().str("storage").global("torch", s.storage_class).str(s.key).str("cpu").integer(static_cast<int32_t>(s.numel)).tuple();
    p.op('Q').integer(static_cast<int32_t>(s.offset)).ints(s.shape).ints(s.stride).op(0x89);
    p.global("collections", "OrderedDict").op(')').op('R');
    p.tuple().op('R');
  }
  return p.op('u').stop().bytes();
}

std::string floats(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.begin(), s.size());
  return s;
}

class TorchZipTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir("torch_zip"); }

  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    EXPECT_TRUE(out.good()) << path;
    return path;
  }

  std::string expect_format_error(const std::string& path, std::initializer_list<const char*> needles) {
    return test::expect_format_error_of([](const std::string& p) { read_torch_zip(p); }, path, needles);
  }

  std::string dir_;
};

void expect_same_tensors(const TensorMap& got, const TensorMap& want) {
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [name, w] : want) {
    auto it = got.find(name);
    ASSERT_NE(it, got.end()) << name;
    const RawTensor& g = it->second;
    EXPECT_EQ(g.dtype, w.dtype) << name;
    EXPECT_EQ(g.shape, w.shape) << name;
    ASSERT_EQ(g.nbytes, w.nbytes) << name;
    if (w.nbytes) {
      EXPECT_EQ(std::memcmp(g.data, w.data, w.nbytes), 0) << name;
    }
  }
}

TEST_F(TorchZipTest, RealBertTinyMatchesSafetensorsByteForByte) {
  const std::string dir = test::shared_dir() + "/models/bert-tiny-sst2-scratch";
  const TensorMap zip = read_torch_zip(dir + "/pytorch_model.bin");
  const TensorMap st = read_safetensors(dir + "/model.safetensors");
  EXPECT_EQ(zip.size(), 41u);  // 39 weights of the 2-layer encoder + pooler, and the 2 of the classifier
  expect_same_tensors(zip, st);
}

TEST_F(TorchZipTest, TorchWrittenViewsAndDtypesMatchTheirContiguousCopies) {
  const std::string fx = test::fixtures_dir() + "/checkpoints/";
  const TensorMap want = read_safetensors(fx + "views_expected.safetensors");
  for (const char* file : {"views_p2.pt", "views_p4.pt", "views_deflated.pt"}) {
    SCOPED_TRACE(file);
    const TensorMap got = read_torch_zip(fx + file);
    expect_same_tensors(got, want);
    EXPECT_EQ(got.at("f16").dtype, DType::kF16);
    EXPECT_EQ(got.at("bf16").dtype, DType::kBF16);
    EXPECT_EQ(got.at("i64").dtype, DType::kI64);
    EXPECT_EQ(got.at("bool").dtype, DType::kBool);
    EXPECT_EQ(got.at("transposed").shape, (Shape{4, 3}));
    EXPECT_EQ(got.at("scalar").shape, Shape{});
    EXPECT_EQ(got.at("empty").nbytes, 0u);
    // "slice" is a contiguous view at offset 3 of "base": it shares base's bytes rather than copying them.
    EXPECT_EQ(static_cast<const float*>(got.at("slice").data), static_cast<const float*>(got.at("base").data) + 3);
  }
}

TEST_F(TorchZipTest, HandBuiltArchiveWithAnyTopFolderName) {
  const std::string pkl = state_dict_pickle({{.name = "w", .numel = 4, .offset = 1, .shape = {3}, .stride = {1}}});
  const std::string path = write("ok.bin", make_zip({{"whatever_name/data.pkl", pkl},
                                                    {"whatever_name/data/0", floats({9, 1, 2, 3})},
                                                    {"whatever_name/version", "3\n"}}));
  const TensorMap m = read_torch_zip(path);
  ASSERT_EQ(m.size(), 1u);
  const RawTensor& w = m.at("w");
  EXPECT_EQ(w.shape, Shape{3});
  ASSERT_EQ(w.nbytes, 12u);
  EXPECT_EQ(std::memcmp(w.data, floats({1, 2, 3}).data(), 12), 0);
}

TEST_F(TorchZipTest, RejectsGlobalOsSystemAndExecutesNothing) {
  const std::string marker = dir_ + "/pwned";
  for (const auto& [module, name] : std::vector<std::pair<std::string, std::string>>{
           {"os", "system"}, {"posix", "system"}, {"subprocess", "Popen"}, {"builtins", "eval"}, {"nt", "system"}}) {
    SCOPED_TRACE(module + "." + name);
    const std::string pkl = Pickle().proto(2).global(module, name).str("touch " + marker).op(0x85).op('R').stop().bytes();
    const std::string path = write("evil.bin", make_zip({{"archive/data.pkl", pkl}}));
    const std::string qualified = "'" + module + "." + name + "'";
    expect_format_error(path, {"data.pkl", qualified.c_str(), "not allowed"});
  }
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST_F(TorchZipTest, RejectsStackGlobalAndDisguisedGlobals) {
  // Protocol 4 spells globals as two strings on the stack.
  const std::string pkl = Pickle().proto(4).short_str("builtins").short_str("exec").op(0x93).str("1").op(0x85).op('R').stop().bytes();
  expect_format_error(write("sg.bin", make_zip({{"archive/data.pkl", pkl}})), {"'builtins.exec'", "not allowed"});
  // Near-misses of allowed names are not allowed.
  const std::string pkl2 = Pickle().proto(2).global("torch", "load").op(')').op('R').stop().bytes();
  expect_format_error(write("tl.bin", make_zip({{"archive/data.pkl", pkl2}})), {"'torch.load'", "not allowed"});
  const std::string pkl3 = Pickle().proto(2).global("torch._utils", "_rebuild_tensor_v2 ").stop().bytes();
  expect_format_error(write("sp.bin", make_zip({{"archive/data.pkl", pkl3}})), {"not allowed"});
}

TEST_F(TorchZipTest, RejectsMissingDataRecord) {
  const std::string pkl = state_dict_pickle({{.name = "encoder.weight", .key = "7"}});
  const std::string path = write("missing.bin", make_zip({{"archive/data.pkl", pkl}, {"archive/data/0", floats({1, 2, 3, 4})}}));
  expect_format_error(path, {"tensor 'encoder.weight'", "'archive/data/7'", "missing"});
}

TEST_F(TorchZipTest, RejectsTensorBeyondItsRecord) {
  // 4 floats at offset 2 need 24 bytes; the record has 16.
  const std::string pkl = state_dict_pickle({{.name = "w", .offset = 2}});
  const std::string path = write("short.bin", make_zip({{"a/data.pkl", pkl}, {"a/data/0", floats({1, 2, 3, 4})}}));
  expect_format_error(path, {"tensor 'w'", "24 bytes", "found 16"});
  // A stride that walks past the end is caught the same way: [2, 2] with stride [4, 1] needs 6 floats.
  const std::string pkl2 = state_dict_pickle({{.name = "v", .shape = {2, 2}, .stride = {4, 1}}});
  const std::string path2 = write("stride.bin", make_zip({{"a/data.pkl", pkl2}, {"a/data/0", floats({1, 2, 3, 4})}}));
  expect_format_error(path2, {"tensor 'v'", "24 bytes", "found 16"});
}

TEST_F(TorchZipTest, GathersStridedViewsFromHandBuiltArchive) {
  // A 2x3 transpose of a 3x2 storage: element (i, j) is storage[j * 2 + i].
  const std::string pkl = state_dict_pickle({{.name = "t", .numel = 6, .shape = {2, 3}, .stride = {1, 2}}});
  const std::string path = write("t.bin", make_zip({{"a/data.pkl", pkl}, {"a/data/0", floats({0, 1, 2, 3, 4, 5})}}));
  const TensorMap m = read_torch_zip(path);
  ASSERT_EQ(m.at("t").nbytes, 24u);
  EXPECT_EQ(std::memcmp(m.at("t").data, floats({0, 2, 4, 1, 3, 5}).data(), 24), 0);
}

TEST_F(TorchZipTest, RejectsHugeOffsetsWithoutOverflow) {
  Pickle p;
  p.proto(2).op('}').str("w").global("torch._utils", "_rebuild_tensor_v2").mark();
  p.mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").integer(4).tuple().op('Q');
  p.op(0x8a).op(8).raw(std::string("\xff\xff\xff\xff\xff\xff\xff\x3f", 8));  // LONG1: 2^62 - 1
  p.ints({4}).ints({1}).op(0x89).global("collections", "OrderedDict").op(')').op('R').tuple().op('R').op('s').stop();
  const std::string path = write("huge.bin", make_zip({{"a/data.pkl", p.bytes()}, {"a/data/0", floats({1, 2, 3, 4})}}));
  expect_format_error(path, {"tensor 'w'", "64 bits"});
}

TEST_F(TorchZipTest, RejectsTruncatedZip) {
  const std::string full = read_file(test::shared_dir() + "/models/bert-tiny-sst2-scratch/pytorch_model.bin");
  expect_format_error(write("half.bin", full.substr(0, full.size() / 2)), {"zip archive", "truncated or corrupt"});
  const std::string small = make_zip({{"a/data.pkl", state_dict_pickle({{.name = "w"}})}, {"a/data/0", floats({1, 2, 3, 4})}});
  expect_format_error(write("cut.bin", small.substr(0, small.size() - 10)), {"zip archive"});
}

TEST_F(TorchZipTest, RejectsRecordWithWrongChecksum) {
  const std::string pkl = state_dict_pickle({{.name = "w"}});
  const std::string path = write("crc.bin", make_zip({{"a/data.pkl", pkl}, {"a/data/0", floats({1, 2, 3, 4}), true}}));
  expect_format_error(path, {"tensor 'w'", "'a/data/0'"});
}

TEST_F(TorchZipTest, RejectsLegacyPickleCheckpoint) {
  expect_format_error(test::fixtures_dir() + "/checkpoints/legacy.pt",
                      {"legacy (non-zip) PyTorch checkpoint is unsupported",
                       "_use_new_zipfile_serialization=True", "convert to safetensors"});
}

TEST_F(TorchZipTest, RejectsFilesThatAreNotZips) {
  expect_format_error(write("txt.bin", "hello world"), {"expected a zip archive", "68 65 6c 6c"});
  expect_format_error(write("empty.bin", ""), {"expected a zip archive", "empty file"});
  EXPECT_THROW(read_torch_zip(dir_ + "/absent.bin"), IoError);
}

TEST_F(TorchZipTest, RejectsArchivesWithoutAStateDict) {
  expect_format_error(write("nopkl.bin", make_zip({{"a/data/0", floats({1})}})), {"data.pkl", "found none"});
  expect_format_error(write("two.bin", make_zip({{"a/data.pkl", state_dict_pickle({})}, {"b/data.pkl", state_dict_pickle({})}})),
                      {"expected one"});
  expect_format_error(write("jit.bin", make_zip({{"m/data.pkl", state_dict_pickle({})}, {"m/constants.pkl", ""}})),
                      {"TorchScript"});
  // A list, or a dict holding a non-tensor, is not a state dict.
  expect_format_error(write("list.bin", make_zip({{"a/data.pkl", Pickle().proto(2).op(']').stop().bytes()}})),
                      {"expected a state dict", "list"});
  const std::string pkl = Pickle().proto(2).op('}').str("step").integer(3).op('s').stop().bytes();
  expect_format_error(write("int.bin", make_zip({{"a/data.pkl", pkl}})), {"tensor 'step'", "expected a tensor", "int"});
}

TEST_F(TorchZipTest, RejectsBigEndianCheckpoint) {
  const std::string path = write("be.bin", make_zip({{"a/data.pkl", state_dict_pickle({})}, {"a/byteorder", "big"}}));
  expect_format_error(path, {"byteorder", "'big'"});
}

TEST_F(TorchZipTest, RejectsUnsupportedStorageDtype) {
  const std::string pkl = state_dict_pickle({{.name = "s", .storage_class = "ShortStorage"}});
  expect_format_error(write("short.bin", make_zip({{"a/data.pkl", pkl}, {"a/data/0", std::string(8, '\0')}})),
                      {"torch.ShortStorage", "dtype squish does not support"});
}

// ---- the unpickler on its own ----

std::string unpickle_error(const std::string& bytes) {
  try {
    pickle::Unpickler up(bytes, "test.pkl");
    up.load();
  } catch (const FormatError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a FormatError";
  return "";
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "'" << (needle) << "' not in: " << (haystack)

TEST(UnpicklerTest, AllowListIsExact) {
  EXPECT_TRUE(pickle::is_allowed_global("collections.OrderedDict"));
  EXPECT_TRUE(pickle::is_allowed_global("torch._utils._rebuild_tensor_v2"));
  EXPECT_TRUE(pickle::is_allowed_global("torch.BFloat16Storage"));
  EXPECT_FALSE(pickle::is_allowed_global("os.system"));
  EXPECT_FALSE(pickle::is_allowed_global("torch._utils._rebuild_tensor_v2x"));
  EXPECT_FALSE(pickle::is_allowed_global("collections.OrderedDict.__init__"));
}

TEST(UnpicklerTest, ReducingAStorageClassIsRefused) {
  const std::string msg = unpickle_error(Pickle().proto(2).global("torch", "FloatStorage").op(')').op('R').stop().bytes());
  EXPECT_CONTAINS(msg, "'torch.FloatStorage' cannot be called");
}

TEST(UnpicklerTest, TruncatedPickle) {
  EXPECT_CONTAINS(unpickle_error(Pickle().proto(2).op('}').bytes()), "truncated pickle");
  EXPECT_CONTAINS(unpickle_error(""), "truncated pickle");
  EXPECT_CONTAINS(unpickle_error(Pickle().proto(2).op('c').raw("os\nsys").bytes()), "newline-terminated");
}

TEST(UnpicklerTest, LengthsThatLie) {
  std::string huge_str = Pickle().proto(2).op('X').bytes();
  put32(huge_str, 0xfffffff0u);
  EXPECT_CONTAINS(unpickle_error(huge_str + "abc."), "4294967280 more bytes");
  const std::string long8 = Pickle().proto(4).op(0x8d).raw(std::string(8, '\xff')).bytes();
  EXPECT_CONTAINS(unpickle_error(long8), "more bytes");
  EXPECT_CONTAINS(unpickle_error(Pickle().proto(4).op(0x95).raw(std::string(8, '\x7f')).bytes()), "frame");
  EXPECT_CONTAINS(unpickle_error(Pickle().proto(2).op(0x8a).op(9).raw(std::string(9, '\x01')).stop().bytes()),
                  "at most 8 bytes");
}

TEST(UnpicklerTest, MemoAndStackMisuse) {
  EXPECT_CONTAINS(unpickle_error(Pickle().proto(2).op('h').op(5).stop().bytes()), "memo entry 5");
  EXPECT_CONTAINS(unpickle_error(Pickle().proto(2).op('q').op(0).stop().bytes()), "expected a value on the stack");
  EXPECT_CONTAINS(unpickle_error(Pickle().proto(2).op('t').stop().bytes()), "MARK");
  EXPECT_CONTAINS(unpickle_error(Pickle().proto(2).op('N').op('a').stop().bytes()), "expected a value on the stack");
  EXPECT_CONTAINS(unpickle_error(Pickle().proto(2).op('N').op('N').op('a').stop().bytes()), "APPEND: expected a list");
  EXPECT_CONTAINS(unpickle_error(Pickle().proto(2).op('N').op('N').stop().bytes()), "leftover");
  // LONG_BINPUT to index 4e9 must not allocate a 4e9-slot memo.
  EXPECT_CONTAINS(unpickle_error(Pickle().proto(2).op('N').op('r').raw("\xff\xff\xff\xff").op('j').raw("\xfe\xff\xff\xff").stop().bytes()),
                  "memo entry 4294967294");
}

TEST(UnpicklerTest, UnsupportedOpcodesAndProtocols) {
  EXPECT_CONTAINS(unpickle_error(Pickle().proto(2).op('i').raw("os\nsystem\n").stop().bytes()), "opcode 0x69");
  EXPECT_CONTAINS(unpickle_error(Pickle().proto(2).op(0x81).stop().bytes()), "opcode 0x81");  // NEWOBJ
  EXPECT_CONTAINS(unpickle_error(Pickle().proto(9).stop().bytes()), "protocol 2-5, found 9");
}

TEST(UnpicklerTest, BuildOnlyOnDicts) {
  const std::string pkl = Pickle().proto(2).op(']').op('}').op('b').stop().bytes();
  EXPECT_CONTAINS(unpickle_error(pkl), "BUILD: expected a dict");
}

TEST(UnpicklerTest, CyclesAndDeepNestingNeitherCrashNorLeak) {
  // l = []; l.append(l): a cycle through the memo.
  const std::string cycle = Pickle().proto(2).op(']').op('q').op(0).op('h').op(0).op('a').stop().bytes();
  pickle::Unpickler cyc(cycle, "cycle.pkl");
  const pickle::Value* v = cyc.load();
  ASSERT_EQ(v->kind, pickle::Value::Kind::kList);
  EXPECT_EQ(v->items.at(0), v);
  // 200k nested lists: destroying them must not recurse 200k deep.
  constexpr int kDepth = 200000;
  Pickle deep;
  deep.proto(2);
  for (int i = 0; i < kDepth; ++i) deep.op(']');
  for (int i = 1; i < kDepth; ++i) deep.op('a');
  deep.stop();
  pickle::Unpickler up(deep.bytes(), "deep.pkl");
  EXPECT_EQ(up.load()->kind, pickle::Value::Kind::kList);
}

TEST(UnpicklerTest, BadPersistentIdsAndRebuildArguments) {
  EXPECT_CONTAINS(unpickle_error(Pickle().proto(2).str("x").op('Q').stop().bytes()), "persistent id");
  Pickle p;
  p.proto(2).mark().str("storage").global("torch", "FloatStorage").str("../../etc/passwd").str("cpu").integer(1).tuple().op('Q').stop();
  EXPECT_CONTAINS(unpickle_error(p.bytes()), "storage key");
  Pickle q;
  q.proto(2).global("torch._utils", "_rebuild_tensor_v2").mark();
  q.mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").integer(4).tuple().op('Q');
  q.integer(0).ints({-4}).ints({1}).op(0x89).op('N').tuple().op('R').stop();
  EXPECT_CONTAINS(unpickle_error(q.bytes()), "non-negative integers, found -4");
  Pickle r;
  r.proto(2).global("torch._utils", "_rebuild_tensor_v2").mark().integer(1).tuple().op('R').stop();
  EXPECT_CONTAINS(unpickle_error(r.bytes()), "expected 6-7 arguments, found 1");
}

}  // namespace
}  // namespace squish
