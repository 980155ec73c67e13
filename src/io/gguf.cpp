#include "io/gguf.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/printable.h"

namespace squish {
namespace {

using nlohmann::json;

constexpr uint32_t kMaxDims = 4;  // GGML_MAX_DIMS
// Arrays of arrays are legal; a bound far above any real file's nesting keeps a hostile file of a million
// nested array headers from recursing a million deep.
constexpr int kMaxArrayDepth = 16;
// The smallest encodings, which bound every count by the bytes left: a key/value is a key length, a value
// type and at least one value byte; a tensor info a name length, n_dims, a type and an offset.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;

enum ValueType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};
constexpr uint32_t kValueTypeCount = 13;

const char* value_type_name(uint32_t t) {
  static constexpr const char* kNames[kValueTypeCount] = {"uint8",  "int8",    "uint16", "int16",  "uint32",
                                                          "int32",  "float32", "bool",   "string", "array",
                                                          "uint64", "int64",   "float64"};
  return t < kValueTypeCount ? kNames[t] : "?";
}

// Bytes one value of the type takes at least (a string's length, an array's type and count).
uint64_t min_value_bytes(uint32_t t) {
  switch (t) {
    case kU8:
    case kI8:
    case kBool: return 1;
    case kU16:
    case kI16: return 2;
    case kU32:
    case kI32:
    case kF32: return 4;
    case kString:
    case kU64:
    case kI64:
    case kF64: return 8;
    case kArray: return 12;
    default: return 0;
  }
}

// Reads little-endian fields in order; every read checks the bytes are there first.
class Cursor {
 public:
  Cursor(const std::string& path, const uint8_t* data, uint64_t size) : path_(path), data_(data), size_(size) {}

  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw FormatError(path_ + ": " + where + ": " + what);
  }

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  const uint8_t* take(uint64_t n, const std::string& where) {
    if (n > remaining())
      fail(where, "expected " + std::to_string(n) + " more bytes at offset " + std::to_string(pos_) +
                      ", found the file ending at " + std::to_string(size_) + " (truncated)");
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }

  // Fields are copied in place: GGUF is little-endian, as every machine squish builds for.
  template <class T>
  T read(const std::string& where) {
    static_assert(std::endian::native == std::endian::little);
    T out;
    std::memcpy(&out, take(sizeof(T), where), sizeof out);
    return out;
  }

  std::string string(const std::string& where) {
    const uint64_t n = read<uint64_t>(where);
    if (n > remaining())
      fail(where, "expected a string of " + std::to_string(n) + " bytes at offset " + std::to_string(pos_) +
                      ", found the file ending at " + std::to_string(size_) + " (truncated or length corrupt)");
    const uint8_t* p = take(n, where);
    return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
  }

  // A count of items of at least `min_bytes` each must fit in the bytes left, so a hostile count can
  // never become a huge allocation or a long loop.
  void check_count(uint64_t count, uint64_t min_bytes, const std::string& where, const std::string& what) const {
    if (count > remaining() / min_bytes)
      fail(where, "expected at most " + std::to_string(remaining() / min_bytes) + " " + what + " (the " +
                      std::to_string(remaining()) + " bytes left hold no more), found " + std::to_string(count));
  }

 private:
  const std::string& path_;
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

json read_value(Cursor& c, uint32_t type, const std::string& where, int depth);

json read_array(Cursor& c, const std::string& where, int depth) {
  if (depth >= kMaxArrayDepth)
    c.fail(where, "expected arrays nested at most " + std::to_string(kMaxArrayDepth) + " deep, found deeper");
  const uint32_t type = c.read<uint32_t>(where);
  if (type >= kValueTypeCount) c.fail(where, "expected an array element type 0-12, found " + std::to_string(type));
  const uint64_t count = c.read<uint64_t>(where);
  c.check_count(count, min_value_bytes(type), where, std::string(value_type_name(type)) + " elements");
  json out = json::array();
  auto& items = out.get_ref<json::array_t&>();
  items.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) items.push_back(read_value(c, type, where, depth + 1));
  return out;
}

json read_value(Cursor& c, uint32_t type, const std::string& where, int depth) {
  switch (type) {
    case kU8: return c.read<uint8_t>(where);
    case kI8: return c.read<int8_t>(where);
    case kU16: return c.read<uint16_t>(where);
    case kI16: return c.read<int16_t>(where);
    case kU32: return c.read<uint32_t>(where);
    case kI32: return c.read<int32_t>(where);
    case kF32: return static_cast<double>(c.read<float>(where));
    case kBool: {
      const uint8_t b = c.read<uint8_t>(where);
      if (b > 1) c.fail(where, "expected a bool of 0 or 1, found " + std::to_string(b));
      return b == 1;
    }
    case kString: return c.string(where);
    case kArray: return read_array(c, where, depth);
    case kU64: return c.read<uint64_t>(where);
    case kI64: return c.read<int64_t>(where);
    case kF64: return c.read<double>(where);
    default: c.fail(where, "expected a value type 0-12, found " + std::to_string(type));
  }
}

std::string key_where(const std::string& key) { return "key '" + printable(key) + "'"; }
std::string tensor_where(const std::string& name) { return "tensor '" + printable(name) + "'"; }

uint64_t read_alignment(Cursor& c, const std::string& key, uint32_t type, const json& value) {
  if (type != kU32) c.fail(key_where(key), std::string("expected a uint32, found a ") + value_type_name(type));
  const uint64_t a = value.get<uint64_t>();
  if (a == 0 || (a & (a - 1)) != 0) c.fail(key_where(key), "expected a power of two, found " + std::to_string(a));
  return a;
}

struct TensorInfo {
  GgufTensor tensor;
  uint64_t offset = 0;
};

TensorInfo read_tensor_info(Cursor& c, uint64_t index) {
  TensorInfo info;
  GgufTensor& t = info.tensor;
  t.name = c.string("tensor info " + std::to_string(index));
  const std::string where = tensor_where(t.name);
  const uint32_t n_dims = c.read<uint32_t>(where);
  if (n_dims > kMaxDims)
    c.fail(where, "expected at most " + std::to_string(kMaxDims) + " dimensions, found " + std::to_string(n_dims));
  uint64_t ne[kMaxDims] = {1, 1, 1, 1};
  uint64_t numel = 1;
  std::string dims;
  for (uint32_t i = 0; i < n_dims; ++i) {
    ne[i] = c.read<uint64_t>(where);
    dims += (i ? ", " : "") + std::to_string(ne[i]);
    if (ne[i] > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
        __builtin_mul_overflow(numel, ne[i], &numel) ||
        numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      c.fail(where,
             "expected an element count that fits 63 bits, found ne [" + dims + (i + 1 < n_dims ? ", ...]" : "]"));
  }
  const uint32_t type = c.read<uint32_t>(where);
  const GgmlTypeTraits* traits = find_ggml_type(type);
  if (!traits) c.fail(where, "expected a ggml type, found the unknown type number " + std::to_string(type));
  t.type = traits->type;
  const auto block = static_cast<uint64_t>(traits->block_elements);
  if (ne[0] % block != 0)
    c.fail(where, "expected rows of whole " + std::string(traits->name) + " blocks (" + std::to_string(block) +
                      " elements), found rows of " + std::to_string(ne[0]) + " (ne [" + dims + "])");
  uint64_t nbytes = 0;
  if (__builtin_mul_overflow(numel / block, static_cast<uint64_t>(traits->block_bytes), &nbytes))
    c.fail(where, "expected a byte size that fits 64 bits, found ne [" + dims + "] of " + std::string(traits->name));
  t.nbytes = static_cast<size_t>(nbytes);
  for (uint32_t i = n_dims; i-- > 0;) t.shape.push_back(static_cast<int64_t>(ne[i]));
  info.offset = c.read<uint64_t>(where);
  return info;
}

// Tensors may sit in any order with padding between them, but never share bytes: two tensors aliasing
// would change together in a tool that edits in place.
void check_no_overlap(Cursor& c, const std::vector<TensorInfo>& infos) {
  std::vector<const TensorInfo*> by_offset;
  for (const auto& i : infos)
    if (i.tensor.nbytes > 0) by_offset.push_back(&i);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo& prev = *by_offset[i - 1];
    const TensorInfo& cur = *by_offset[i];
    if (cur.offset < prev.offset + prev.tensor.nbytes)
      c.fail(tensor_where(cur.tensor.name), "expected bytes not shared with another tensor, found offset " +
                                                std::to_string(cur.offset) + " inside tensor '" +
                                                printable(prev.tensor.name) + "' [" + std::to_string(prev.offset) +
                                                ", " + std::to_string(prev.offset + prev.tensor.nbytes) + ")");
  }
}

}  // namespace

const GgufTensor* GgufFile::find(std::string_view name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

GgufFile read_gguf(const std::string& path) {
  auto file = MappedFile::open(path);
  Cursor c(path, file->data(), file->size());
  GgufFile out;
  out.path = path;
  out.file_bytes = static_cast<int64_t>(file->size());

  const uint8_t* magic = c.take(4, "magic");
  if (std::memcmp(magic, "GGUF", 4) != 0)
    c.fail("magic",
           "expected \"GGUF\", found bytes " + printable(std::string_view(reinterpret_cast<const char*>(magic), 4)));
  out.version = c.read<uint32_t>("header");
  if (out.version != 2 && out.version != 3) {
    std::string why;
    if (out.version == 1) why = " (GGUF v1 has 32-bit counts; convert it with a current llama.cpp)";
    if (out.version == 0x02000000u || out.version == 0x03000000u)
      why = " (a big-endian GGUF, which squish does not read)";
    c.fail("header", "expected version 2 or 3, found " + std::to_string(out.version) + why);
  }
  const uint64_t tensor_count = c.read<uint64_t>("header");
  const uint64_t kv_count = c.read<uint64_t>("header");
  c.check_count(kv_count, kMinKvBytes, "header", "key/value pairs");

  for (uint64_t i = 0; i < kv_count; ++i) {
    const std::string key = c.string("key/value " + std::to_string(i));
    const std::string where = key_where(key);
    if (out.metadata.contains(key)) c.fail(where, "expected each key once, found it again");
    const uint32_t type = c.read<uint32_t>(where);
    if (type >= kValueTypeCount) c.fail(where, "expected a value type 0-12, found " + std::to_string(type));
    json value = read_value(c, type, where, 0);
    if (key == "general.alignment") out.alignment = read_alignment(c, key, type, value);
    out.metadata[key] = std::move(value);
  }

  c.check_count(tensor_count, kMinTensorInfoBytes, "header", "tensors");
  std::vector<TensorInfo> infos;
  infos.reserve(static_cast<size_t>(tensor_count));
  std::set<std::string_view> names;
  for (uint64_t i = 0; i < tensor_count; ++i) {
    infos.push_back(read_tensor_info(c, i));
    if (!names.insert(infos.back().tensor.name).second)
      c.fail(tensor_where(infos.back().tensor.name), "expected each tensor name once, found it again");
  }

  // The data section starts at the first multiple of the alignment after the tensor infos; each offset is
  // relative to it. The header end is at most the file size, so rounding it up cannot overflow.
  const uint64_t size = file->size();
  const uint64_t data_start = (c.pos() + out.alignment - 1) / out.alignment * out.alignment;
  for (const TensorInfo& info : infos) {
    const std::string where = tensor_where(info.tensor.name);
    if (info.offset % out.alignment != 0)
      c.fail(where, "expected an offset that is a multiple of the alignment " + std::to_string(out.alignment) +
                        ", found " + std::to_string(info.offset));
    const uint64_t data_size = data_start <= size ? size - data_start : 0;
    if (info.offset > data_size || info.tensor.nbytes > data_size - info.offset)
      c.fail(where, "expected offset + size <= " + std::to_string(data_size) + " (the data section from byte " +
                        std::to_string(data_start) + " to the end of the file), found offset " +
                        std::to_string(info.offset) + " + " + std::to_string(info.tensor.nbytes) +
                        " bytes (file truncated or offset out of range)");
  }
  check_no_overlap(c, infos);

  out.tensors.reserve(infos.size());
  for (TensorInfo& info : infos) {
    info.tensor.data = file->data() + data_start + info.offset;
    out.tensors.push_back(std::move(info.tensor));
  }
  out.owner = file;
  return out;
}

bool is_gguf_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw IoError(path + ": cannot open: " + std::strerror(errno));
  char magic[4] = {};
  const size_t n = std::fread(magic, 1, sizeof magic, f);
  std::fclose(f);
  return n == 4 && std::memcmp(magic, "GGUF", 4) == 0;
}

Tensor dequantize_gguf_tensor(const GgufTensor& t) {
  const GgmlTypeTraits& traits = ggml_type_traits(t.type);
  const std::string where =
      "tensor '" + printable(t.name) + "' (" + std::string(traits.name) + ", shape " + shape_str(t.shape) + ")";
  if (!traits.dequantizable)
    throw FormatError(where + ": expected a type squish dequantizes (" + std::string(dequantizable_ggml_types()) +
                      "), found " + std::string(traits.name));
  const int64_t row = t.shape.empty() ? 1 : t.shape.back();
  if (row % traits.block_elements != 0)
    throw FormatError(where + ": expected rows of whole " + std::to_string(traits.block_elements) +
                      "-element blocks, found rows of " + std::to_string(row));
  Tensor out(t.shape);
  const uint64_t expected = static_cast<uint64_t>(out.numel() / traits.block_elements) * traits.block_bytes;
  if (expected != t.nbytes)
    throw FormatError(where + ": expected " + std::to_string(expected) + " bytes, found " + std::to_string(t.nbytes));
  dequantize_ggml(t.type, t.data, out.data(), out.numel());
  return out;
}

}  // namespace squish
