#include "model/common/lowbit_storage.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "core/dtype.h"
#include "core/error.h"

namespace squish {
namespace {

std::vector<uint16_t> to_halves(const float* v, int64_t n) {
  std::vector<uint16_t> h(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) h[static_cast<size_t>(i)] = float_to_half(v[i]);
  return h;
}

void check_group_params(const RawTensor& t, int64_t first, int64_t count, bool positive, const std::string& name,
                        const std::string& file, std::vector<float>& out) {
  const auto* h = static_cast<const uint16_t*>(t.data);
  for (int64_t i = 0; i < count; ++i) {
    const float v = half_to_float(h[i]);
    if (!std::isfinite(v) || (positive && v <= 0))
      throw FormatError(file + ": tensor '" + name + "': value " + std::to_string(v) + " at " + std::to_string(i) +
                        (positive ? " is not a positive number" : " is not finite"));
    out[static_cast<size_t>(first + i)] = v;
  }
}

}  // namespace

std::string group_format_name(GroupFormat f) { return "int" + std::to_string(f.bits) + "-g" + std::to_string(f.group_size); }

std::optional<GroupFormat> parse_group_format(std::string_view name) {
  if (name.size() < 7 || name.substr(0, 3) != "int" || name.substr(4, 2) != "-g") return std::nullopt;
  const int bits = name[3] - '0';
  if (!is_group_bits(bits)) return std::nullopt;
  int64_t group = 0;
  const std::string_view digits = name.substr(6);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), group);
  if (ec != std::errc() || end != digits.data() + digits.size() || group <= 0 || group % 16 != 0) return std::nullopt;
  return GroupFormat{bits, group};
}

int64_t group_stored_bytes(GroupFormat f, int64_t rows, int64_t k) {
  return rows * (k * f.bits / 8) + 2 * 2 * rows * (k / f.group_size);
}

std::vector<TensorToWrite> stored_groups(const GroupQuantized& q, int64_t first, int64_t rows) {
  const int64_t k = q.k, row_bytes = k * q.bits / 8, groups = q.groups_per_row();
  std::vector<uint8_t> packed(static_cast<size_t>(rows * row_bytes), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < k; ++c) {
      // A 3-bit code may straddle two bytes: its bits above the first byte go to the next.
      const int64_t bit = c * q.bits, at = r * row_bytes + bit / 8;
      const auto shifted = static_cast<uint16_t>(q.codes[static_cast<size_t>((first + r) * k + c)] << (bit % 8));
      packed[static_cast<size_t>(at)] |= static_cast<uint8_t>(shifted);
      if (shifted > 0xff) packed[static_cast<size_t>(at + 1)] |= static_cast<uint8_t>(shifted >> 8);
    }
  const std::vector<uint16_t> scales = to_halves(q.scales.data() + first * groups, rows * groups);
  const std::vector<uint16_t> minimums = to_halves(q.minimums.data() + first * groups, rows * groups);
  return {array_to_write(".weight_packed", DType::kU8, {rows, row_bytes}, packed.data()),
          array_to_write(".weight_scale", DType::kF16, {rows, groups}, scales.data()),
          array_to_write(".weight_min", DType::kF16, {rows, groups}, minimums.data())};
}

GroupQuantized read_groups(const std::vector<LinearPart>& parts, int64_t k, GroupFormat f,
                           const StoredTensorReader& reader) {
  if (k % f.group_size != 0)
    throw FormatError(reader.file() + ": " + group_format_name(f) + " needs an input width divisible by " +
                      std::to_string(f.group_size) + ", this one has " + std::to_string(k));
  GroupQuantized q;
  q.bits = f.bits;
  q.group_size = f.group_size;
  q.k = k;
  for (const auto& p : parts) q.n += p.rows;
  const int64_t row_bytes = k * f.bits / 8, groups = k / f.group_size, mask = max_code(f.bits);
  q.codes.resize(static_cast<size_t>(q.n * k));
  q.scales.resize(static_cast<size_t>(q.n * groups));
  q.minimums.resize(static_cast<size_t>(q.n * groups));
  int64_t row = 0;
  for (const auto& p : parts) {
    const auto* packed = static_cast<const uint8_t*>(reader.get(p.name + ".weight_packed", DType::kU8, {p.rows, row_bytes}).data);
    for (int64_t r = 0; r < p.rows; ++r)
      for (int64_t c = 0; c < k; ++c) {
        const int64_t bit = c * f.bits, at = r * row_bytes + bit / 8;
        const int window = packed[at] | (at + 1 < (r + 1) * row_bytes ? packed[at + 1] << 8 : 0);
        q.codes[static_cast<size_t>((row + r) * k + c)] = static_cast<uint8_t>((window >> (bit % 8)) & mask);
      }
    const std::string scale = p.name + ".weight_scale", minimum = p.name + ".weight_min";
    check_group_params(reader.get(scale, DType::kF16, {p.rows, groups}), row * groups, p.rows * groups, true, scale,
                       reader.file(), q.scales);
    check_group_params(reader.get(minimum, DType::kF16, {p.rows, groups}), row * groups, p.rows * groups, false,
                       minimum, reader.file(), q.minimums);
    row += p.rows;
  }
  return q;
}

std::vector<TensorToWrite> stored_f16(const std::vector<uint16_t>& halves, int64_t k, int64_t first, int64_t rows) {
  return {array_to_write(".weight", DType::kF16, {rows, k}, halves.data() + first * k)};
}

std::vector<uint16_t> read_f16(const std::vector<LinearPart>& parts, int64_t k, const StoredTensorReader& reader) {
  std::vector<uint16_t> halves;
  for (const auto& p : parts) {
    const auto* h = static_cast<const uint16_t*>(reader.get(p.name + ".weight", DType::kF16, {p.rows, k}).data);
    halves.insert(halves.end(), h, h + p.rows * k);
  }
  return halves;
}

}  // namespace squish
