#include "model/common/linear_formats.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/common/int8_linear_weights.h"
#include "model/common/lowbit_linear_weights.h"
#include "model/common/lowbit_storage.h"
#include "model/common/sparse_linear_weights.h"

namespace squish {
namespace {

int64_t rows_of(const std::vector<LinearPart>& parts) {
  int64_t n = 0;
  for (const auto& p : parts) n += p.rows;
  return n;
}

std::shared_ptr<const LinearWeights> read_f32(const std::vector<LinearPart>& parts, int64_t k, int64_t,
                                              const StoredTensorLookup& lookup, const std::string& file) {
  const StoredTensorReader reader(lookup, file, "f32");
  Tensor w({rows_of(parts), k});
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
  const int64_t n = rows_of(parts);
  Int8Weights w;
  w.q.resize(static_cast<size_t>(n * k));
  w.scales.resize(static_cast<size_t>(n));
  std::optional<WeightGranularity> granularity;
  std::optional<U8Params> input;
  std::string first_input_name;
  std::optional<int> qmax;  // every module of a Linear reads the same activations
  int64_t row = 0;
  for (const auto& p : parts) {
    // Optional: absent means the full grid (kActivationQmax); a reduced-range model stores 127.
    const std::string qmax_name = p.name + ".input_qmax";
    int here_qmax = kActivationQmax;
    if (lookup(qmax_name)) {
      here_qmax = *static_cast<const uint8_t*>(reader.get(qmax_name, DType::kU8, {1}).data);
      if (here_qmax != kActivationQmax && here_qmax != kReducedActivationQmax)
        throw FormatError(file + ": tensor '" + qmax_name + "': " + std::to_string(here_qmax) + ", expected " +
                          std::to_string(kReducedActivationQmax) + " (reduced range) or " +
                          std::to_string(kActivationQmax));
    }
    if (qmax && *qmax != here_qmax)
      throw FormatError(file + ": tensor '" + qmax_name + "': the modules of one Linear read the same input, "
                        "but their activation ranges differ");
    qmax = here_qmax;
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
  return std::make_shared<Int8LinearWeights>(w, n, k, *granularity, input, *qmax);
}

std::shared_ptr<const LinearWeights> read_int8_dynamic(const std::vector<LinearPart>& parts, int64_t k, int64_t,
                                                       const StoredTensorLookup& lookup, const std::string& file) {
  return read_int8(parts, k, lookup, file, false);
}
std::shared_ptr<const LinearWeights> read_int8_static(const std::vector<LinearPart>& parts, int64_t k, int64_t,
                                                      const StoredTensorLookup& lookup, const std::string& file) {
  return read_int8(parts, k, lookup, file, true);
}
std::shared_ptr<const LinearWeights> read_f16_weights(const std::vector<LinearPart>& parts, int64_t k, int64_t,
                                                      const StoredTensorLookup& lookup, const std::string& file) {
  return std::make_shared<F16LinearWeights>(read_f16(parts, k, StoredTensorReader(lookup, file, "f16")), rows_of(parts), k);
}
template <int kBits>
std::shared_ptr<const LinearWeights> read_groups_of(const std::vector<LinearPart>& parts, int64_t k, int64_t group,
                                                    const StoredTensorLookup& lookup, const std::string& file) {
  const GroupFormat f{kBits, group};
  return std::make_shared<GroupLinearWeights>(
      read_groups(parts, k, f, StoredTensorReader(lookup, file, group_format_name(f))));
}

int64_t f32_bytes(int64_t rows, int64_t k, int64_t) { return rows * k * 4; }
int64_t f16_bytes(int64_t rows, int64_t k, int64_t) { return rows * k * 2; }
int64_t int8_bytes(int64_t rows, int64_t k, int64_t) { return rows * k + rows * 4; }
int64_t int8_static_bytes(int64_t rows, int64_t k, int64_t) { return rows * k + rows * 4 + 5; }
template <int kBits>
int64_t group_bytes(int64_t rows, int64_t k, int64_t group) { return group_stored_bytes({kBits, group}, rows, k); }
// The traits cannot know how many weights a sparse Linear keeps: this is the most it can store (every
// weight kept, as a bitmask), and a pruned model's real size is its file's (the prune command reports it).
int64_t sparse_bytes_at_most(int64_t rows, int64_t k, int64_t) { return sparse_bitmask_bytes(rows, k, rows * k); }

std::shared_ptr<const LinearWeights> quantize_f32(const Tensor& w, int64_t) { return dense_f32_weights(w); }
std::shared_ptr<const LinearWeights> quantize_f16(const Tensor& w, int64_t) {
  return std::make_shared<F16LinearWeights>(round_to_f16(w), w.dim(0), w.dim(1));
}
std::shared_ptr<const LinearWeights> quantize_int8_dynamic(const Tensor& w, int64_t) {
  return std::make_shared<Int8LinearWeights>(quantize_weights_s8(w, WeightGranularity::kPerChannel), w.dim(0), w.dim(1),
                                             WeightGranularity::kPerChannel, std::nullopt);
}
std::shared_ptr<const LinearWeights> quantize_sparse(const Tensor& w, int64_t) { return sparse_f32_weights(w); }
template <int kBits>
std::shared_ptr<const LinearWeights> quantize_groups(const Tensor& w, int64_t group) {
  return std::make_shared<GroupLinearWeights>(quantize_groups_rtn(w.data(), w.dim(0), w.dim(1), kBits, group));
}

constexpr LinearFormatTraits kFormats[] = {
    {"f32", 32, false, "dense fp32 (.weight as F32, or F16 where that is exact)", read_f32, f32_bytes, quantize_f32},
    {"f16", 16, false, "fp16 weights (.weight F16), widened to fp32 inside the multiply", read_f16_weights, f16_bytes,
     quantize_f16},
    {"int8-dynamic", 8, false,
     "W8A32: .weight I8, .weight_scale F32 per row or [1]; activations quantized per row at run time "
     "(to 0..255, or 0..127 where .input_qmax U8 [1] says 127: --reduce_range)",
     read_int8_dynamic, int8_bytes, quantize_int8_dynamic},
    {"int8-static", 8, false,
     "W8A8: as int8-dynamic plus .input_scale F32 [1] and .input_zero_point U8 [1], the calibrated input grid",
     read_int8_static, int8_static_bytes, nullptr},
    {"int4", 4, true,
     "4-bit groups along K: .weight_packed U8, .weight_scale and .weight_min F16 per group; W4A8 kernel",
     read_groups_of<4>, group_bytes<4>, quantize_groups<4>},
    {"int3", 3, true,
     "3-bit groups along K: .weight_packed U8 (codes across byte boundaries), .weight_scale and .weight_min F16 "
     "per group; run by the W4A8 kernel (codes ≤ 7 in nibbles)",
     read_groups_of<3>, group_bytes<3>, quantize_groups<3>},
    {"int2", 2, true,
     "2-bit groups along K: .weight_packed U8, .weight_scale and .weight_min F16 per group; W2A8 kernel",
     read_groups_of<2>, group_bytes<2>, quantize_groups<2>},
    {"sparse", 32, false,
     "pruned fp32: per module .weight_mask U8 + .weight_values F32, or CSR (.weight_indptr, .weight_indices, "
     ".weight_values) where fewer bytes; dense fp32 kernel",
     read_sparse, sparse_bytes_at_most, quantize_sparse},
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

std::string WeightFormat::name() const {
  return traits->grouped ? group_format_name({traits->weight_bits, group_size}) : std::string(traits->name);
}

void check_format_fits(const std::string& linear_name, int64_t n, int64_t k, const WeightFormat& f) {
  if (f.traits->grouped && (f.group_size <= 0 || k % f.group_size != 0))
    throw ShapeError("Linear '" + linear_name + "' [" + std::to_string(n) + ", " + std::to_string(k) + "]: " +
                     f.name() + "'s groups of " + std::to_string(f.group_size) + " do not divide its input width " +
                     std::to_string(k) + "; choose a --group_size that does (a multiple of 16)");
}

std::shared_ptr<const LinearWeights> quantize_weights_of(const std::string& linear_name, const Tensor& w,
                                                         const WeightFormat& f) {
  check_format_fits(linear_name, w.dim(0), w.dim(1), f);
  return f.traits->quantize(w, f.group_size);
}

WeightFormat parse_weight_format(std::string_view name, const std::string& context) {
  if (const auto group = parse_group_format(name))
    for (const auto& f : kFormats)
      if (f.grouped && f.weight_bits == group->bits) return {&f, group->group_size};
  std::string names;
  for (const auto& f : kFormats) {
    if (!f.grouped && f.name == name) return {&f, 0};
    names += (names.empty() ? "" : ", ") + std::string(f.name) + (f.grouped ? "-g<G>" : "");
  }
  throw FormatError(context + ": unknown weight format '" + std::string(name) + "' (expected one of " + names +
                    ", G a multiple of 16)");
}

void check_embedding_format(std::string_view name, const std::string& context) {
  if (name == "f32" || name == "f16" || name == "int8-rows" || parse_group_format(name)) return;
  throw FormatError(context + ": unknown embedding format '" + std::string(name) +
                    "' (expected f32, f16, int8-rows, int4-g<G>, int3-g<G> or int2-g<G>)");
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
    plan.linears[linear] = parse_weight_format(format.get<std::string>(), file + ": plan entry '" + linear + "'").name();
  }
  if (const auto e = metadata.find(std::string(kEmbeddingsKey)); e != metadata.end()) {
    check_embedding_format(e->second, file + ": metadata '" + std::string(kEmbeddingsKey) + "'");
    plan.embeddings = e->second;
  }
  if (const auto a = metadata.find(std::string(kAttentionKey)); a != metadata.end())
    plan.attention = parse_attention_arithmetic(a->second, file + ": metadata '" + std::string(kAttentionKey) + "'");
  if (const auto h = metadata.find(std::string(kTiedHeadKey)); h != metadata.end()) {
    const std::string where = file + ": metadata '" + std::string(kTiedHeadKey) + "'";
    if (h->second != "int8-dynamic") throw FormatError(where + ": '" + h->second + "', expected int8-dynamic");
    if (plan.embeddings != "int8-rows")
      throw FormatError(where + ": an int8 head needs an int8-rows table, the embeddings are " + plan.embeddings);
    plan.int8_tied_head = true;
  }
  return plan;
}

std::map<std::string, std::string> container_metadata(const ContainerPlan& plan) {
  // "format" is not "pt": transformers refuses the file instead of reading int8 codes as weights.
  std::map<std::string, std::string> metadata = {{"format", "squish"},
                                                 {std::string(kContainerKey), "quantized"},
                                                 {std::string(kContainerVersionKey), std::to_string(kContainerVersion)},
                                                 {std::string(kPlanKey), nlohmann::json(plan.linears).dump()},
                                                 {std::string(kEmbeddingsKey), plan.embeddings}};
  // Written only when it is not the default, so fp32-attention containers stay byte-identical.
  if (plan.attention != AttentionArithmetic::kFp32)
    metadata[std::string(kAttentionKey)] = std::string(attention_arithmetic_name(plan.attention));
  if (plan.int8_tied_head) metadata[std::string(kTiedHeadKey)] = "int8-dynamic";
  return metadata;
}

bool plan_is_quantized(const ContainerPlan& plan) {
  if (plan.embeddings != "f32" || plan.attention != AttentionArithmetic::kFp32) return true;
  return std::any_of(plan.linears.begin(), plan.linears.end(),
                     [](const auto& linear) { return linear.second != "f32" && linear.second != "sparse"; });
}

LinearPlan plan_of(std::span<const Linear* const> linears) {
  LinearPlan plan;
  for (const Linear* l : linears) plan[l->name] = std::string(l->weights->format());
  return plan;
}

}  // namespace squish
