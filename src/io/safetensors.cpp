#include "io/safetensors.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <set>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/printable.h"
#include "core/mapped_file.h"
#include "io/json_error.h"

namespace squish {
namespace {

using nlohmann::json;

// A real header is a few hundred bytes per tensor; anything beyond this is a corrupt or hostile length
// and must not turn into a 100 GB allocation or a parse of unrelated bytes.
constexpr uint64_t kMaxHeaderBytes = 100u * 1000u * 1000u;
// The format nests three deep (root -> tensor -> shape); a bound far above that stops a header of a
// million '[' from costing a million-deep parse.
constexpr int kMaxJsonDepth = 16;

std::string json_kind(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array of " + std::to_string(j.size());
    case json::value_t::string: return "the string \"" + printable(j.get_ref<const std::string&>()) + "\"";
    case json::value_t::boolean: return j.get<bool>() ? "true" : "false";
    case json::value_t::number_integer: return std::to_string(j.get<int64_t>());
    case json::value_t::number_unsigned: return std::to_string(j.get<uint64_t>());
    case json::value_t::number_float: return "the non-integer " + j.dump();
    default: return "a " + std::string(j.type_name());
  }
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

class HeaderParser {
 public:
  HeaderParser(const std::string& path, uint64_t data_size) : path_(path), data_size_(data_size) {}

  [[noreturn]] void fail(const std::string& name, const std::string& what) const {
    throw FormatError(path_ + ": tensor '" + printable(name) + "': " + what);
  }

  DType parse_dtype(const std::string& name, const json& j) const {
    if (!j.is_string()) fail(name, "expected \"dtype\" to be a string, found " + json_kind(j));
    const auto& s = j.get_ref<const std::string&>();
    static constexpr DType kAccepted[] = {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI64,
                                          DType::kI32, DType::kI8,  DType::kU8,   DType::kU16,  DType::kBool};
    for (DType t : kAccepted)
      if (s == dtype_name(t)) return t;
    fail(name, "expected dtype one of F32, F16, BF16, F64, I64, I32, I8, U8, U16, BOOL, found unsupported dtype '" +
                   printable(s) + "'");
  }

  // JSON integers arrive as signed, unsigned or (when they do not fit 64 bits) float; only a
  // non-negative whole number that fits the target is accepted.
  uint64_t parse_uint(const std::string& name, const char* field, const json& j, uint64_t max) const {
    uint64_t v = 0;
    if (j.is_number_unsigned()) {
      v = j.get<uint64_t>();
    } else if (j.is_number_integer()) {
      const int64_t s = j.get<int64_t>();
      if (s < 0) fail(name, std::string("expected ") + field + " entries >= 0, found " + std::to_string(s));
      v = static_cast<uint64_t>(s);
    } else {
      fail(name, std::string("expected ") + field + " entries to be integers, found " + json_kind(j));
    }
    if (v > max) fail(name, std::string("expected ") + field + " entries <= " + std::to_string(max) + ", found " + std::to_string(v));
    return v;
  }

  Entry parse_entry(const std::string& name, const json& j) const {
    if (!j.is_object()) fail(name, "expected an object with dtype, shape and data_offsets, found " + json_kind(j));
    for (const char* key : {"dtype", "shape", "data_offsets"})
      if (!j.contains(key)) fail(name, std::string("expected a \"") + key + "\" field, found none");
    Entry e;
    e.name = name;
    e.dtype = parse_dtype(name, j.at("dtype"));

    const json& shape = j.at("shape");
    if (!shape.is_array()) fail(name, "expected \"shape\" to be an array, found " + json_kind(shape));
    // Product in 64 bits with an overflow check at every step: [2^40, 2^40] must fail here rather
    // than wrap to a small number that passes the size check below.
    uint64_t numel = 1;
    for (const json& d : shape) {
      const uint64_t dim = parse_uint(name, "shape", d, static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
      e.shape.push_back(static_cast<int64_t>(dim));
      if (__builtin_mul_overflow(numel, dim, &numel))
        fail(name, "expected a shape whose element count fits 64 bits, found shape " + shape.dump());
    }
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(numel, dtype_size(e.dtype), &nbytes) ||
        numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(name, "expected a byte size that fits 64 bits, found shape " + shape.dump() + " of " +
                     std::string(dtype_name(e.dtype)));

    const json& offs = j.at("data_offsets");
    if (!offs.is_array() || offs.size() != 2)
      fail(name, "expected \"data_offsets\" to be [begin, end], found " + json_kind(offs));
    e.begin = parse_uint(name, "data_offsets", offs[0], std::numeric_limits<uint64_t>::max());
    e.end = parse_uint(name, "data_offsets", offs[1], std::numeric_limits<uint64_t>::max());
    if (e.begin > e.end)
      fail(name, "expected data_offsets begin <= end, found [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]");
    if (e.end > data_size_)
      fail(name, "expected data_offsets end <= " + std::to_string(data_size_) + " (the data section's size), found " +
                     std::to_string(e.end) + " (file truncated or offsets out of range)");
    if (e.end - e.begin != nbytes)
      fail(name, "expected " + std::to_string(nbytes) + " bytes (shape " + shape.dump() + " of " +
                     std::string(dtype_name(e.dtype)) + "), found data_offsets spanning " + std::to_string(e.end - e.begin));
    return e;
  }

  void check_metadata(const json& j) const {
    if (!j.is_object())
      throw FormatError(path_ + ": __metadata__: expected an object of string -> string, found " + json_kind(j));
    for (const auto& [k, v] : j.items())
      if (!v.is_string())
        throw FormatError(path_ + ": __metadata__ key '" + printable(k) + "': expected a string value, found " + json_kind(v));
  }

 private:
  const std::string& path_;
  uint64_t data_size_;
};

// nlohmann keeps the last of duplicate keys silently; a header that names one tensor twice is
// ambiguous (two readers may pick different bytes), so it is rejected. The same callback bounds depth.
json parse_header_json(const std::string& path, const char* begin, const char* end) {
  std::vector<std::set<std::string>> keys_per_object;
  auto cb = [&](int depth, json::parse_event_t event, json& parsed) -> bool {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth >= kMaxJsonDepth)
          throw FormatError(path + ": header: expected JSON nested at most " + std::to_string(kMaxJsonDepth) +
                            " deep, found deeper nesting");
        if (event == json::parse_event_t::object_start) keys_per_object.emplace_back();
        break;
      case json::parse_event_t::object_end:
        keys_per_object.pop_back();
        break;
      case json::parse_event_t::key: {
        const auto& k = parsed.get_ref<const std::string&>();
        if (!keys_per_object.back().insert(k).second)
          throw FormatError(path + ": tensor '" + printable(k) + "': expected each key once, found a duplicate key");
        break;
      }
      default:
        break;
    }
    return true;
  };
  try {
    return json::parse(begin, end, cb);
  } catch (const json::exception& e) {
    throw FormatError(path + ": header: expected valid JSON, found a parse error: " + json_error_text(e));
  }
}

std::string span(const Entry& e) { return "[" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]"; }

// The format requires the tensors to tile the data section: no shared bytes, no holes, nothing
// before the first or after the last. A stray byte is not harmless padding: a header length one
// byte short leaves one, and then every tensor is read one byte off. Two tensors sharing bytes would
// alias silently (writing one would change the other in a tool that edits in place).
// Zero-size tensors own no bytes, so they take no part in the tiling.
void check_data_coverage(const std::string& path, const HeaderParser& parser, const std::vector<Entry>& entries,
                         uint64_t data_size) {
  std::vector<const Entry*> by_offset;
  for (const auto& e : entries)
    if (e.end > e.begin) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
  const std::string expected =
      ": data section: expected tensors to cover all " + std::to_string(data_size) + " bytes without gaps, found ";
  if (by_offset.empty()) {
    if (data_size != 0) throw FormatError(path + expected + "no tensor with data (" + std::to_string(data_size) + " stray bytes)");
    return;
  }
  if (by_offset.front()->begin != 0)
    throw FormatError(path + expected + "bytes [0, " + std::to_string(by_offset.front()->begin) +
                      ") before the first tensor '" + printable(by_offset.front()->name) + "' " + span(*by_offset.front()));
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const Entry& prev = *by_offset[i - 1];
    const Entry& cur = *by_offset[i];
    if (cur.begin < prev.end)
      parser.fail(cur.name, "expected bytes not shared with another tensor, found data_offsets " + span(cur) +
                                " overlapping tensor '" + printable(prev.name) + "' " + span(prev));
    if (cur.begin > prev.end)
      throw FormatError(path + expected + "bytes [" + std::to_string(prev.end) + ", " + std::to_string(cur.begin) +
                        ") between tensor '" + printable(prev.name) + "' " + span(prev) + " and tensor '" +
                        printable(cur.name) + "' " + span(cur));
  }
  const Entry& last = *by_offset.back();
  if (last.end != data_size)
    throw FormatError(path + expected + "bytes [" + std::to_string(last.end) + ", " + std::to_string(data_size) +
                      ") after the last tensor '" + printable(last.name) + "' " + span(last) +
                      " (a header length too short by that much, or trailing bytes)");
}

}  // namespace

TensorMap read_safetensors(const std::string& path, std::map<std::string, std::string>* metadata) {
  auto file = MappedFile::open(path);
  const uint64_t size = file->size();
  if (size < 8)
    throw FormatError(path + ": header length: expected an 8-byte little-endian length, found a " + std::to_string(size) +
                      "-byte file");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | file->data()[i];
  if (header_len > kMaxHeaderBytes)
    throw FormatError(path + ": header length: expected at most " + std::to_string(kMaxHeaderBytes) + " bytes, found " +
                      std::to_string(header_len) + " (not a safetensors file, or corrupt)");
  if (header_len > size - 8)
    throw FormatError(path + ": header length: expected at most " + std::to_string(size - 8) +
                      " (the bytes after the length), found " + std::to_string(header_len) + " (file truncated or length corrupt)");
  if (header_len < 2)
    throw FormatError(path + ": header: expected a JSON object, found " + std::to_string(header_len) + " bytes");

  const char* hbegin = reinterpret_cast<const char*>(file->data() + 8);
  const json header = parse_header_json(path, hbegin, hbegin + header_len);
  if (!header.is_object()) throw FormatError(path + ": header: expected a JSON object, found " + json_kind(header));

  const uint64_t data_start = 8 + header_len;
  HeaderParser parser(path, size - data_start);
  std::vector<Entry> entries;
  entries.reserve(header.size());
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      parser.check_metadata(value);
      if (metadata)
        for (const auto& [k, v] : value.items()) (*metadata)[k] = v.get<std::string>();
      continue;
    }
    entries.push_back(parser.parse_entry(name, value));
  }

  check_data_coverage(path, parser, entries, size - data_start);

  TensorMap out;
  for (const auto& e : entries) {
    RawTensor t;
    t.dtype = e.dtype;
    t.shape = e.shape;
    t.nbytes = static_cast<size_t>(e.end - e.begin);
    t.data = file->data() + data_start + e.begin;
    t.owner = file;
    out.emplace(e.name, std::move(t));
  }
  return out;
}

}  // namespace squish
