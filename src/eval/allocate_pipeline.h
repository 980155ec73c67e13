// `squish allocate` as a library call: a sensitivity.json (eval/sensitivity_pipeline.h) in, a bit
// plan (quant/bit_plan.h) out, chosen by k-means over the sensitivities, percentile thresholds, an
// exact size budget (quant/allocation.h), or one width for every unit (the uniform baselines). The
// plan records how it was chosen: method, per-unit width, format, sensitivity and bytes, expected size.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "quant/allocation.h"
#include "quant/bit_plan.h"

namespace squish {

// k-means' space unless --cluster_on is given: the only one that was at least 5x smaller than fp32 and
// within 3 points on every MiniLM model (docs/allocation.md); the library's default stays the study's
// one score.
inline constexpr std::string_view kDefaultClusterSpace = "log_profile";

struct AllocateRequest {
  std::string sensitivity_path;
  std::string output;                        // plan.json to write ("" = none)
  std::string method = "kmeans";             // kmeans | percentile | budget | uniform
  std::optional<double> target_size_mb;      // budget: total size on disk
  std::optional<double> target_avg_bits;     // budget: stored bits per unit weight
  std::optional<double> target_compression;  // budget: fp32 bytes / this
  std::vector<double> percentiles;           // percentile: k − 1 of them; empty = equal quantiles
  std::optional<int> score_bits;             // kmeans | percentile: the width whose sensitivity ranks units
  std::optional<std::string> cluster_on;     // kmeans: kDefaultClusterSpace unless given
  std::optional<int> uniform_bits;           // uniform: the width of every unit
  // The word embeddings at this measured width, outside the allocation (their bytes count as fixed):
  // for a table whose measured sensitivity misprices it, such as a tied LM head's.
  std::optional<int> embeddings_bits;
  uint64_t seed = 42;
};

struct AllocateResult {
  AllocateRequest request;
  AllocationProblem problem;
  std::vector<std::vector<std::string>> formats;  // [unit][width]
  std::vector<std::vector<std::string>> linears;  // [unit]: its Linears (none for the embeddings)
  int64_t fp32_bytes = 0;
  Allocation allocation;
  BitPlan plan;
  std::string pinned_embeddings;  // the format --embeddings_bits gave the embeddings ("" when allocated)
};

// The allocation problem a sensitivity.json describes (FormatError naming the file otherwise).
AllocateResult read_allocation_problem(const std::string& sensitivity_path);
// UsageError for a request no measurement can satisfy, so mixed-precision refuses it before measuring:
// --uniform_bits not among `bits`, a --target_compression or --target_size_mb below `smallest_bytes`
// (every unit at its smallest width).
void check_allocation_request(const AllocateRequest& request, const std::vector<int>& bits, int64_t fp32_bytes,
                              int64_t smallest_bytes);
AllocateResult run_allocate(const AllocateRequest& request);
// The plan with its provenance, as written to request.output.
nlohmann::ordered_json plan_json(const AllocateResult& result);
std::string allocation_summary(const AllocateResult& result);

}  // namespace squish
