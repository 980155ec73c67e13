// Layer sensitivity to quantization, measured by how much a layer's representation changes
// (SVCCA, PWCCA or linear CKA, analysis/similarity.h): for each unit (an encoder layer, one Linear,
// or the word embeddings) and each candidate width, that unit alone is quantized (round-to-nearest)
// and 1 − similarity between its fp32 and quantized outputs is its sensitivity.
//
// Efficient by construction: each calibration batch runs through the fp32 encoder once, keeping
// every layer's input; a variant then reruns only its own layer from the captured fp32 input
// (--compare layer), or its layer and those after it (--compare final, at the [CLS] rows). So the
// whole measurement costs about (1 + widths) fp32 passes at layer granularity, never a forward per
// (unit, width). Compared rows are the valid tokens (padding excluded), subsampled deterministically
// by a hash of (seed, sequence, position) when there are more than --max_tokens. A causal LM has no
// [CLS]: its final representation is every valid token's last-layer state, and a sequence's first
// token (the same BOS everywhere) is never compared. A tied embedding table is also the LM head:
// its unit is measured at both ends, the embeddings' output (with the chosen measure) and the
// head's logits (linear CKA from the final-normed hidden states' covariance, whatever the measure:
// CCA cannot see a change of a linear head), and its sensitivity is the sum of the two changes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/common/sequence_model.h"

namespace squish {

enum class SimilarityMethod { kSvcca, kPwcca, kCka };
enum class SensitivityGranularity { kLayer, kLinear };
enum class CompareAt { kLayer, kFinal };

SimilarityMethod parse_similarity_method(const std::string& name);   // svcca | pwcca | cka (UsageError)
SensitivityGranularity parse_sensitivity_granularity(const std::string& name);  // layer | linear
CompareAt parse_compare_at(const std::string& name);                 // layer | final
std::string similarity_method_name(SimilarityMethod m);

struct SensitivityOptions {
  SimilarityMethod method = SimilarityMethod::kPwcca;
  int topk = 20;                        // SVCCA's directions per side
  std::vector<int> bits = {2, 4, 8, 16};
  int64_t group_size = 64;              // of the 2- and 4-bit formats
  SensitivityGranularity granularity = SensitivityGranularity::kLayer;
  CompareAt compare = CompareAt::kLayer;
  int64_t max_tokens = 8192;            // compared token rows at most (compare layer)
  uint64_t seed = 42;
  bool embeddings = true;               // the word embeddings are a unit too
};

// The format a width means for a Linear: 2/3/4 → int<b>-g<G>, 8 → int8-dynamic (per channel),
// 16 → f16, 32 → f32; for the embeddings 8 is int8-rows. UsageError for other widths.
std::string linear_format_for_bits(int bits, int64_t group_size);
std::string embedding_format_for_bits(int bits, int64_t group_size);

struct SensitivityUnit {
  std::string name;                     // "encoder.layer.3", a Linear's name, or "embeddings"
  int layer = -1;                       // encoder layer; -1 for the embeddings
  std::vector<std::string> linears;     // the Linears it holds (none for the embeddings)
  int64_t parameters = 0;
};

struct SensitivityCell {
  int bits = 0;
  std::string format;
  double similarity = 0, sensitivity = 0;
  double weight_error = 0;              // ‖W − Q‖_F / ‖W‖_F over the unit's weights
  // The embeddings of a causal LM whose head is the same table: linear CKA between the head's fp32
  // and quantized logits on the compared rows; sensitivity = 1 − similarity + 1 − head_similarity.
  std::optional<double> head_similarity;
  double quantize_seconds = 0;          // making the variant (and its weight error)
  double run_seconds = 0;               // rerunning its layers on every batch
  double similarity_seconds = 0;        // comparing its rows with the fp32 ones
};

struct SensitivityResult {
  SensitivityOptions options;
  std::vector<SensitivityUnit> units;
  std::vector<std::vector<SensitivityCell>> cells;  // [unit][width], widths in options.bits order
  int64_t sequences = 0, valid_tokens = 0, compared_rows = 0;
  double fp32_seconds = 0;              // the one fp32 pass over the calibration batches
  double head_seconds = 0;              // a tied head's fp32 side (its inputs' covariance, the table's Gram)
  double wall_seconds = 0;
};

// The units a model is measured by: its layers (by Linear::layer, named as the model names them:
// "encoder.layer.3", "model.layers.3", "model.decoder.layers.3") or each of their Linears, then the
// embeddings when asked.
std::vector<SensitivityUnit> sensitivity_units(SequenceModel& model, SensitivityGranularity granularity,
                                               bool embeddings);

// The two phases' progress (either may be null): `on_batch` after each calibration batch (its fp32
// pass and every variant's rerun) with its sequence count, then `on_similarity` after each (unit,
// width) similarity, the longer phase on real models.
// UsageError for --bits that are empty, repeated, not increasing or without a format, and a --group_size the packed
// kernels cannot take: every pipeline checks before its work.
void check_sensitivity_options(const SensitivityOptions& options);

struct SensitivityProgress {
  std::function<void(int64_t)> on_batch;
  std::function<void()> on_similarity;
};

SensitivityResult measure_sensitivity(SequenceModel& model, std::span<const TokenBatch> batches,
                                      const SensitivityOptions& options, const SensitivityProgress& progress = {});

}  // namespace squish
