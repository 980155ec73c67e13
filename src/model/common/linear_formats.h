// The weight formats a squish model directory may hold, as one traits table: a format's name (what
// the container's plan says of each Linear), its bits, what it stores per HF module, and its
// reader. A Linear is saved by its representation (LinearWeights::stored_rows) and read back here,
// so save → load → save is bit-exact. The container itself is documented in docs/formats.md.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"
#include "model/common/attention_arithmetic.h"
#include "model/common/linear.h"

namespace squish {

// The stored tensor `name` (a part's name plus a suffix), or null when the file has none. Marks it used.
using StoredTensorLookup = std::function<const RawTensor*(const std::string& name)>;

// Reads a squish container's stored tensors for one representation: each checked for presence,
// dtype and shape, scales for being finite and positive, every error naming `file` and the tensor.
class StoredTensorReader {
 public:
  // `format`: what the plan says the tensors hold ("int8-static", "int8-rows"), for the messages.
  StoredTensorReader(const StoredTensorLookup& lookup, const std::string& file, std::string_view format);
  const RawTensor& get(const std::string& name, std::span<const DType> dtypes, const Shape& shape) const;
  const RawTensor& get(const std::string& name, DType dtype, const Shape& shape) const;
  // Element i of an F32 scales tensor.
  float scale_at(const RawTensor& t, int64_t i, const std::string& name) const;
  const std::string& file() const { return file_; }

 private:
  const StoredTensorLookup& lookup_;
  const std::string& file_;
  std::string format_;
};

struct LinearFormatTraits {
  std::string_view name;         // "f32", "f16", "int8-dynamic", "int8-static", "int4", "int3", "int2", "sparse"
  int weight_bits;
  bool grouped;                  // in a plan the name carries its group size: "int4-g64"
  std::string_view description;  // one line, for inspect and docs
  // Builds the weights of a Linear of `in_features` whose HF modules are `parts` (stored under
  // "<canonical part name><suffix>"). FormatError naming `file` and the tensor on any mismatch.
  std::shared_ptr<const LinearWeights> (*read)(const std::vector<LinearPart>& canonical_parts, int64_t in_features,
                                               int64_t group_size, const StoredTensorLookup& lookup,
                                               const std::string& file);
  // Bytes a container stores for [rows, k] weights in this format, scales included. For "sparse",
  // whose size depends on how many weights are kept, the most it can store (none pruned).
  int64_t (*stored_bytes)(int64_t rows, int64_t k, int64_t group_size);
  // Round-to-nearest weights in this format from fp32 [N, K] (per output channel for int8); null
  // for int8-static, which needs a calibrated input grid (quant/quantize_model.h).
  std::shared_ptr<const LinearWeights> (*quantize)(const Tensor& w, int64_t group_size);
};

std::span<const LinearFormatTraits> linear_formats();

// A format as a plan names it: a traits row and, for grouped formats, the group size.
struct WeightFormat {
  const LinearFormatTraits* traits;
  int64_t group_size = 0;
  std::string name() const;  // "int4-g64", "f16"
};
// FormatError "<context>: unknown weight format 'x' (expected one of ...)".
WeightFormat parse_weight_format(std::string_view name, const std::string& context);
// ShapeError naming the Linear, its shape and a remedy when format `f`'s group does not divide its
// input width k (a width structured pruning left).
void check_format_fits(const std::string& linear_name, int64_t n, int64_t k, const WeightFormat& f);
// `w` (Linear `linear_name`'s [N, K] weights) in format `f`, checked by check_format_fits first.
std::shared_ptr<const LinearWeights> quantize_weights_of(const std::string& linear_name, const Tensor& w,
                                                         const WeightFormat& f);

// The formats an embedding table may be stored in: f32, f16, int8-rows, int4-g<G>, int3-g<G>, int2-g<G>
// (model/common/embedding_table.h). FormatError naming `context` otherwise.
void check_embedding_format(std::string_view name, const std::string& context);

// The container's plan: Linear name → format name, every Linear of the model listed.
using LinearPlan = std::map<std::string, std::string>;
struct ContainerPlan {
  LinearPlan linears;
  std::string embeddings = "f32";  // the word embeddings' format (check_embedding_format)
  AttentionArithmetic attention = AttentionArithmetic::kFp32;
  // A tied LM head on an int8-rows table's codes, run by the int8 GEMM with activations int8 per row
  // (EmbeddingTable::set_int8_head); false: the table's values in fp32.
  bool int8_tied_head = false;
};

// squish's own container is a safetensors file whose metadata carries these keys.
inline constexpr std::string_view kContainerKey = "squish.container";      // "quantized"
inline constexpr std::string_view kContainerVersionKey = "squish.container_version";
inline constexpr std::string_view kPlanKey = "squish.plan";                // JSON {linear: format}
inline constexpr std::string_view kEmbeddingsKey = "squish.embeddings";    // the embeddings' format
inline constexpr std::string_view kAttentionKey = "squish.attention";      // "int8"; absent: f32
inline constexpr std::string_view kTiedHeadKey = "squish.tied_head";       // "int8-dynamic"; absent: the table
inline constexpr int kContainerVersion = 1;

// The plan of a squish container, or none for any other checkpoint. FormatError naming `file` for a
// wrong container version, an unreadable plan or an unknown format in it.
std::optional<ContainerPlan> read_container_plan(const std::map<std::string, std::string>& metadata,
                                                 const std::string& file);
// The metadata that marks a container and records `plan`.
std::map<std::string, std::string> container_metadata(const ContainerPlan& plan);
// Whether a container's weights are quantized: false when every Linear is f32 or sparse (pruned
// fp32, stored exactly) and the embeddings are f32, so a pruned model can still be quantized.
bool plan_is_quantized(const ContainerPlan& plan);

// The plan a model's Linears are in now.
LinearPlan plan_of(std::span<const Linear* const> linears);

}  // namespace squish
