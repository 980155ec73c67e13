#include "model/common/linear_formats.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/common/int8_linear_weights.h"

namespace squish {
namespace {


std::shared_ptr<const LinearWeights> read_f32(const std::vector<LinearPart>& parts, int64_t k,
                                              const StoredTensorLookup& lookup, const std::string& file) {
  const StoredTensorReader reader(lookup, file, "f32");
  int64_t n = 0;
  for (const auto& p : parts) n += p.rows;
  Tensor w({n, k});
  float* dst = w.data();
  constexpr DType kFloats[] = {DType::kF32, DType::kF16, DType::kBF16};
  for (const auto& p : parts) {
    const RawTensor& t = reader.get(p.name + ".weight", kFloats, {p.rows, k});
    convert_to_f32(dst, t.data, t.dtype, static_cast<size_t>(p.rows * k));
    dst += p.rows * k;
  }
  return dense_f32_weights(w);
}

std::shared_ptr<const LinearWeights> read_int8(const std::vector<LinearPart>& parts, int64_t k,
                                               const StoredTensorLookup& lookup, const std::string& file,
                                               bool with_static_input) {
  const StoredTensorReader reader(lookup, file, with_static_input ? "int8-static" : "int8-dynamic");
  int64_t n = 0;
  for (const auto& p : parts) n += p.rows;
  Int8Weights w;
  w.q.resize(static_cast<size_t>(n * k));
  w.scales.resize(static_cast<size_t>(n));
  std::optional<WeightGranularity> granularity;
  std::optional<U8Params> input;
  std::string first_input_name;
  int64_t row = 0;
  for (const auto& p : parts) {
    const RawTensor& q = reader.get(p.name + ".weight", DType::kI8, {p.rows, k});
    std::memcpy(w.q.data() + row * k, q.data, static_cast<size_t>(p.rows * k));
    const std::string scale_name = p.name + ".weight_scale";
    const RawTensor* s = lookup(scale_name);
    const bool per_tensor = s && s->shape == Shape{1} && p.rows != 1;
    const RawTensor& scales = reader.get(scale_name, DType::kF32, {per_tensor ? 1 : p.rows});
    const WeightGranularity g = per_tensor ? WeightGranularity::kPerTensor : WeightGranularity::kPerChannel;
    if (granularity && *granularity != g)
      throw FormatError(file + ": tensor '" + scale_name + "': its scales are " +
                        (per_tensor ? "per tensor" : "per channel") + " but the Linear's other modules' are not");
    granularity = g;
    for (int64_t r = 0; r < p.rows; ++r)
      w.scales[static_cast<size_t>(row + r)] = reader.scale_at(scales, per_tensor ? 0 : r, scale_name);
    if (with_static_input) {
      const std::string scale = p.name + ".input_scale", zero = p.name + ".input_zero_point";
      const U8Params here{reader.scale_at(reader.get(scale, DType::kF32, {1}), 0, scale),
                          *reinterpret_cast<const uint8_t*>(reader.get(zero, DType::kU8, {1}).data)};
      // Q, K and V read one input: one grid, stored with each module as ONNX QDQ stores it per consumer.
      if (input && (input->scale != here.scale || input->zero_point != here.zero_point))
        throw FormatError(file + ": tensor '" + scale + "': differs from '" + first_input_name +
                          "', but the modules of one Linear read the same input");
      if (!input) first_input_name = scale;
      input = here;
    }
    row += p.rows;
  }
  return std::make_shared<Int8LinearWeights>(w, n, k, *granularity, input);
}

std::shared_ptr<const LinearWeights> read_int8_dynamic(const std::vector<LinearPart>& parts, int64_t k,
                                                       const StoredTensorLookup& lookup, const std::string& file) {
  return read_int8(parts, k, lookup, file, false);
}
std::shared_ptr<const LinearWeights> read_int8_static(const std::vector<LinearPart>& parts, int64_t k,
                                                      const StoredTensorLookup& lookup, const std::string& file) {
  return read_int8(parts, k, lookup, file, true);
}

constexpr LinearFormatTraits kFormats[] = {
    {"f32", 32, "dense fp32 (.weight as F32, or F16 where that is exact)", read_f32},
    {"int8-dynamic", 8, "W8A32: .weight I8, .weight_scale F32 per row or [1]; activations quantized per row at run time",
     read_int8_dynamic},
    {"int8-static", 8,
     "W8A8: as int8-dynamic plus .input_scale F32 [1] and .input_zero_point U8 [1], the calibrated input grid",
     read_int8_static},
};

}  // namespace

StoredTensorReader::StoredTensorReader(const StoredTensorLookup& lookup, const std::string& file, std::string_view format)
    : lookup_(lookup), file_(file), format_(format) {}

const RawTensor& StoredTensorReader::get(const std::string& name, std::span<const DType> dtypes, const Shape& shape) const {
  const RawTensor* t = lookup_(name);
  if (!t) throw FormatError(file_ + ": missing tensor '" + name + "' (the plan stores it as " + format_ + ")");
  if (std::find(dtypes.begin(), dtypes.end(), t->dtype) == dtypes.end()) {
    std::string expected;
    for (DType d : dtypes) expected += (expected.empty() ? "" : " or ") + std::string(dtype_name(d));
    throw FormatError(file_ + ": tensor '" + name + "': the plan stores it as " + format_ + ", expected dtype " +
                      expected + ", found " + std::string(dtype_name(t->dtype)));
  }
  if (t->shape != shape)
    throw FormatError(file_ + ": tensor '" + name + "': expected shape " + shape_str(shape) + ", found " +
                      shape_str(t->shape));
  return *t;
}

const RawTensor& StoredTensorReader::get(const std::string& name, DType dtype, const Shape& shape) const {
  return get(name, std::span<const DType>(&dtype, 1), shape);
}

float StoredTensorReader::scale_at(const RawTensor& t, int64_t i, const std::string& name) const {
  float v;
  std::memcpy(&v, static_cast<const std::byte*>(t.data) + i * 4, 4);
  if (!std::isfinite(v) || v <= 0)
    throw FormatError(file_ + ": tensor '" + name + "': scale " + std::to_string(v) + " is not a positive number");
  return v;
}

std::span<const LinearFormatTraits> linear_formats() { return kFormats; }

const LinearFormatTraits& linear_format(std::string_view name, const std::string& context) {
  std::string names;
  for (const auto& f : kFormats) {
    if (f.name == name) return f;
    names += (names.empty() ? "" : ", ") + std::string(f.name);
  }
  throw FormatError(context + ": unknown weight format '" + std::string(name) + "' (expected one of " + names + ")");
}

std::optional<ContainerPlan> read_container_plan(const std::map<std::string, std::string>& metadata,
                                                 const std::string& file) {
  const auto container = metadata.find(std::string(kContainerKey));
  if (container == metadata.end()) return std::nullopt;
  const auto version = metadata.find(std::string(kContainerVersionKey));
  const std::string expected = std::to_string(kContainerVersion);
  if (version == metadata.end() || version->second != expected)
    throw FormatError(file + ": squish container version " +
                      (version == metadata.end() ? std::string("missing") : "'" + version->second + "'") +
                      ", this squish reads version " + expected);
  const auto plan_text = metadata.find(std::string(kPlanKey));
  if (plan_text == metadata.end()) throw FormatError(file + ": squish container without its '" + std::string(kPlanKey) + "'");
  const nlohmann::json j = nlohmann::json::parse(plan_text->second, nullptr, false);
  if (!j.is_object()) throw FormatError(file + ": metadata '" + std::string(kPlanKey) + "' is not a JSON object");
  ContainerPlan plan;
  for (const auto& [linear, format] : j.items()) {
    if (!format.is_string())
      throw FormatError(file + ": plan entry '" + linear + "': expected a format name, found " + format.dump());
    plan.linears[linear] = linear_format(format.get<std::string>(), file + ": plan entry '" + linear + "'").name;
  }
  if (const auto e = metadata.find(std::string(kEmbeddingsKey)); e != metadata.end()) {
    if (e->second != "f32" && e->second != "int8-rows")
      throw FormatError(file + ": metadata '" + std::string(kEmbeddingsKey) + "': expected f32 or int8-rows, found '" +
                        e->second + "'");
    plan.embeddings = e->second;
  }
  return plan;
}

std::map<std::string, std::string> container_metadata(const ContainerPlan& plan) {
  // "format" is not "pt": transformers refuses the file instead of reading int8 codes as weights.
  return {{"format", "squish"},
          {std::string(kContainerKey), "quantized"},
          {std::string(kContainerVersionKey), std::to_string(kContainerVersion)},
          {std::string(kPlanKey), nlohmann::json(plan.linears).dump()},
          {std::string(kEmbeddingsKey), plan.embeddings}};
}

LinearPlan plan_of(std::span<const Linear* const> linears) {
  LinearPlan plan;
  for (const Linear* l : linears) plan[l->name] = std::string(l->weights->format());
  return plan;
}

}  // namespace squish
