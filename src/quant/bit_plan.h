// A mixed-precision bit plan: the format of every Linear it names and of the word embeddings, as
// `squish allocate` writes it and `squish quantize --plan` applies it (docs/mixed_precision.md):
//   {"squish": "bit-plan", "version": 1,
//    "linears": {"encoder.layer.0.attention.self.qkv": "int4-g64", ...},
//    "embeddings": "int4-g64",
//    "model": {"architecture": "BertForSequenceClassification",
//              "linears": {"encoder.layer.0.attention.self.qkv": [1152, 384], ...}, "embeddings": [30522, 384]},
//    ... provenance (allocation method, units, sizes), ignored when applying}
// Linears the plan does not name keep their representation (the pooler and classifier stay fp32).
// "model" is the model the plan was made for; a plan is refused on any other (version 1 plans and
// hand-written ones may leave it out).
#pragma once

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "kernels/lowbit_scheme.h"
#include "model/common/sequence_model.h"

namespace squish {

// The shapes a plan was made for.
struct PlannedModel {
  std::string architecture;
  std::map<std::string, std::array<int64_t, 2>> linears;  // every Linear's [out, in]
  std::array<int64_t, 2> embeddings{};                     // the word embeddings' [rows, cols]
};

struct BitPlan {
  std::map<std::string, std::string> linears;  // Linear name → weight format (model/common/linear_formats.h)
  std::optional<std::string> embeddings;       // the word embeddings' format; none: unchanged
  std::optional<PlannedModel> model;           // none: a plan that does not say
};

inline constexpr int kBitPlanVersion = 2;

PlannedModel planned_model(SequenceModel& model);
nlohmann::ordered_json planned_model_json(const PlannedModel& model);
// FormatError naming `context` for anything but planned_model_json's layout.
PlannedModel planned_model_from_json(const nlohmann::json& j, const std::string& context);

// UsageError naming the first difference when the plan was made for another model (architecture,
// a Linear missing on either side, a shape). Returns warnings for what the plan leaves as it is:
// encoder Linears it does not name and unnamed word embeddings.
std::vector<std::string> check_bit_plan(SequenceModel& model, const BitPlan& plan, const std::string& plan_path);

// FormatError naming `path` (and the entry) for anything but a valid plan.
BitPlan read_bit_plan(const std::string& path);
BitPlan bit_plan_from_json(const nlohmann::json& j, const std::string& context);
// The plan's own keys; callers add their provenance beside them.
nlohmann::ordered_json bit_plan_json(const BitPlan& plan);

// Chooses the codes of a grouped format for one Linear's fp32 weights [N, K] (GPTQ); null means
// round-to-nearest.
using GroupQuantizer = std::function<GroupQuantized(const Linear& linear, const Tensor& weights, int bits,
                                                    int64_t group_size)>;

// Every planned Linear and the embeddings in their format. UsageError naming the entry for a Linear
// the model lacks or a format that needs calibration (int8-static: use squish quantize --mode static).
// Returns how many Linears changed.
int apply_bit_plan(SequenceModel& model, const BitPlan& plan, const GroupQuantizer& group_quantizer = nullptr);

// Stored bits per weight of a model's planned tensors: Σ stored bytes · 8 / Σ weights, over the
// Linears' weights and the word embeddings (biases, LayerNorms and position tables not counted).
double average_weight_bits(SequenceModel& model);

}  // namespace squish
