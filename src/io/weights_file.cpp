#include "io/weights_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_util.h"
#include "core/printable.h"
#include "io/gguf.h"
#include "io/json_error.h"
#include "io/safetensors.h"
#include "io/torch_zip.h"

namespace squish {
namespace {

int64_t size_of(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(n);
}

std::string hex_bytes(const unsigned char* b, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%s%02x", i ? " " : "", b[i]);
    out += buf;
  }
  return out;
}

// Each tensor's fp32 copy is owned by its RawTensor, so the map of the file can go once all are converted.
void read_gguf_into(const std::string& path, WeightsFile& w) {
  const GgufFile gguf = read_gguf(path);
  for (const auto& [key, value] : gguf.metadata.items())
    if (!value.is_array())
      w.metadata[key] = value.is_string() ? value.get<std::string>()
                                          : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  for (const GgufTensor& t : gguf.tensors) {
    if (!ggml_type_traits(t.type).dequantizable)
      throw FormatError(path + ": tensor '" + printable(t.name) + "': expected a type squish dequantizes (" +
                        std::string(dequantizable_ggml_types()) + "), found " + std::string(ggml_type_name(t.type)));
    auto values = std::make_shared<Tensor>(dequantize_gguf_tensor(t));
    RawTensor raw;
    raw.dtype = DType::kF32;
    raw.shape = t.shape;
    raw.data = values->data();
    raw.nbytes = static_cast<size_t>(values->numel()) * sizeof(float);
    raw.owner = std::move(values);
    w.tensors.emplace(t.name, std::move(raw));
  }
}

WeightsFile read_single(const std::string& path) {
  WeightsFile w;
  w.paths = {path};
  w.file_bytes = size_of(path);
  switch (detect_weights_format(path)) {
    case WeightsFormat::kSafetensors:
      w.format = "safetensors";
      w.tensors = read_safetensors(path, &w.metadata);
      return w;
    case WeightsFormat::kTorchZip:
    case WeightsFormat::kLegacyPickle:  // read_torch_zip says what to do about a legacy pickle
      w.format = "torch-zip";
      w.tensors = read_torch_zip(path);
      return w;
    case WeightsFormat::kGguf:
      w.format = "gguf";
      read_gguf_into(path, w);
      return w;
    case WeightsFormat::kUnknown: break;
  }
  unsigned char head[8] = {};
  std::FILE* f = std::fopen(path.c_str(), "rb");
  const size_t n = f ? std::fread(head, 1, sizeof head, f) : 0;
  if (f) std::fclose(f);
  throw FormatError(path + ": expected a safetensors file, a PyTorch zip checkpoint or a GGUF file, found " +
                    (n ? "bytes " + hex_bytes(head, n) : std::string("an empty file")));
}

// HF's sharded layout: {"metadata": {...}, "weight_map": {tensor name: shard file name}}.
WeightsFile read_sharded(const std::string& index_path) {
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(read_file(index_path));
  } catch (const nlohmann::json::parse_error& e) {
    throw FormatError(index_path + ": malformed JSON: " + json_error_text(e));
  }
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    throw FormatError(index_path + ": expected an object with a \"weight_map\" of tensor name -> shard file");
  std::map<std::string, std::vector<std::string>> names_by_shard;
  for (const auto& [name, file] : index["weight_map"].items()) {
    if (!file.is_string())
      throw FormatError(index_path + ": weight_map entry '" + printable(name) + "': expected a shard file name");
    const std::string shard = file.get<std::string>();
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "..")
      throw FormatError(index_path + ": weight_map entry '" + printable(name) + "': expected a file name beside the index, found '" +
                        printable(shard) + "'");
    names_by_shard[shard].push_back(name);
  }
  WeightsFile out;
  const std::string dir = std::filesystem::path(index_path).parent_path().string();
  for (const auto& [shard, names] : names_by_shard) {
    const std::string shard_path = (dir.empty() ? shard : dir + "/" + shard);
    WeightsFile part = read_single(shard_path);
    if (!out.format.empty() && out.format != part.format)
      throw FormatError(index_path + ": shards mix formats (" + out.format + " and " + part.format + ")");
    out.format = part.format;
    out.paths.push_back(shard_path);
    out.file_bytes += part.file_bytes;
    for (const auto& name : names) {
      auto it = part.tensors.find(name);
      if (it == part.tensors.end())
        throw FormatError(shard_path + ": missing tensor '" + printable(name) + "' that " + index_path + " places there");
      out.tensors.emplace(name, std::move(it->second));
    }
    for (auto& [k, v] : part.metadata) out.metadata.emplace(k, v);
  }
  if (index.contains("metadata") && index["metadata"].is_object())
    for (const auto& [k, v] : index["metadata"].items()) out.metadata[k] = v.is_string() ? v.get<std::string>() : v.dump();
  return out;
}

}  // namespace

WeightsFormat detect_weights_format(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw IoError(path + ": cannot open: " + std::strerror(errno));
  unsigned char b[9] = {};
  const size_t n = std::fread(b, 1, sizeof b, f);
  std::fclose(f);
  if (n >= 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4) return WeightsFormat::kTorchZip;
  if (n >= 1 && b[0] == 0x80) return WeightsFormat::kLegacyPickle;
  if (n >= 4 && std::memcmp(b, "GGUF", 4) == 0) return WeightsFormat::kGguf;
  if (n == 9 && b[8] == '{') {
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | b[i];
    if (header_len >= 2) return WeightsFormat::kSafetensors;  // the reader checks the length against the file
  }
  return WeightsFormat::kUnknown;
}

WeightsFile read_weights_file(const std::string& path) {
  if (path.ends_with(".index.json")) return read_sharded(path);
  return read_single(path);
}

std::optional<std::string> weights_file_in(const std::string& model_dir) {
  static const char* kNames[] = {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                                 "pytorch_model.bin.index.json"};
  for (const char* name : kNames) {
    const std::string path = model_dir + "/" + name;
    if (file_exists(path)) return path;
  }
  return std::nullopt;
}

std::string find_weights_file(const std::string& model_dir) {
  if (auto path = weights_file_in(model_dir)) return *path;
  throw IoError(model_dir + ": no weights found (expected model.safetensors, model.safetensors.index.json, "
                "pytorch_model.bin or pytorch_model.bin.index.json)");
}

}  // namespace squish
