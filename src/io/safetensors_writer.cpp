#include "io/safetensors_writer.h"

#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_util.h"

namespace squish {

int64_t payload_bytes(const std::vector<TensorToWrite>& tensors) {
  int64_t n = 0;
  for (const TensorToWrite& t : tensors) n += static_cast<int64_t>(t.bytes.size());
  return n;
}

TensorToWrite tensor_to_write(std::string name, const Tensor& t, DType dtype) {
  TensorToWrite out{std::move(name), dtype, t.shape, {}};
  const size_t n = static_cast<size_t>(t.numel());
  if (dtype == DType::kF32) {
    out.bytes.assign(reinterpret_cast<const char*>(t.data()), n * sizeof(float));
  } else if (dtype == DType::kF16) {
    out.bytes.resize(n * 2);
    for (size_t i = 0; i < n; ++i) {
      const uint16_t h = float_to_half(t.values[i]);
      std::memcpy(out.bytes.data() + 2 * i, &h, 2);
    }
  } else {
    throw Error(ExitCode::kInternal, out.name + ": fp32 values can be written as F32 or F16, not " +
                                         std::string(dtype_name(dtype)));
  }
  return out;
}

TensorToWrite tensor_to_write_lossless(std::string name, const Tensor& t) {
  const bool f16_exact = std::all_of(t.values.begin(), t.values.end(), [](float v) {
    const float back = half_to_float(float_to_half(v));
    return std::memcmp(&back, &v, sizeof v) == 0;
  });
  return tensor_to_write(std::move(name), t, f16_exact ? DType::kF16 : DType::kF32);
}

std::string safetensors_bytes(const std::vector<TensorToWrite>& tensors, const std::map<std::string, std::string>& metadata) {
  std::vector<const TensorToWrite*> order;
  for (const auto& t : tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const TensorToWrite* t : order) {
    const uint64_t expected = static_cast<uint64_t>(shape_numel(t->shape)) * dtype_size(t->dtype);
    if (t->bytes.size() != expected)
      throw Error(ExitCode::kInternal, t->name + ": " + std::to_string(t->bytes.size()) + " bytes for shape " +
                                           shape_str(t->shape) + " of " + std::string(dtype_name(t->dtype)));
    header[t->name] = {{"dtype", dtype_name(t->dtype)}, {"shape", t->shape}, {"data_offsets", {offset, offset + expected}}};
    offset += expected;
  }
  // Spaces pad the header so the data starts 64-byte aligned: a reader that maps the file and
  // computes on the tensors in place (transformers does, for F32) then gets the alignment its
  // kernels get from their own allocations, and the same bits out.
  std::string text = header.dump();
  text.resize((8 + text.size() + 63) / 64 * 64 - 8, ' ');
  std::string out(8, '\0');
  uint64_t len = text.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((len >> (8 * i)) & 0xff);
  out += text;
  out.reserve(out.size() + offset);
  for (const TensorToWrite* t : order) out += t->bytes;
  return out;
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  write_file_atomic(path, safetensors_bytes(tensors, metadata));
}

}  // namespace squish
