#include "eval/allocate_pipeline.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "core/file_util.h"
#include "core/human_format.h"
#include "eval/run_header.h"

namespace squish {
namespace {

template <class T>
T field(const nlohmann::json& j, const char* key, const std::string& context) {
  const auto it = j.find(key);
  if (it == j.end()) throw FormatError(context + ": missing \"" + key + "\"");
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw FormatError(context + ": \"" + key + "\" has the wrong type: " + it->dump());
  }
}

Allocation allocate(const AllocateResult& r, const AllocateRequest& q) {
  const AllocationProblem& p = r.problem;
  const int budget_targets = q.target_size_mb.has_value() + q.target_avg_bits.has_value() + q.target_compression.has_value();
  if (q.method != "budget" && budget_targets)
    throw UsageError("--target_size_mb, --target_avg_bits and --target_compression go with --allocation budget");
  if (q.method != "uniform" && q.uniform_bits) throw UsageError("--uniform_bits goes with --allocation uniform");
  if (q.method != "kmeans" && q.cluster_on) throw UsageError("--cluster_on goes with --allocation kmeans");
  if (q.method == "kmeans") {
    KMeansOptions o;
    o.score.score_bits = q.score_bits;
    o.space = parse_cluster_space(q.cluster_on.value_or(std::string(kDefaultClusterSpace)));
    if (o.space == ClusterSpace::kLogProfile && q.score_bits)
      throw UsageError(
          "--score_bits picks the one width k-means clusters on; --cluster_on log_profile clusters on "
          "every width (add --cluster_on score or log_score)");
    o.seed = q.seed;
    return allocate_kmeans(p, o);
  }
  if (q.method == "percentile") {
    PercentileOptions o;
    o.score.score_bits = q.score_bits;
    o.percentiles = q.percentiles;
    return allocate_percentile(p, o);
  }
  if (q.method == "budget") {
    if (budget_targets != 1)
      throw UsageError(
          "--allocation budget needs exactly one of --target_size_mb, --target_avg_bits, --target_compression");
    if (q.target_size_mb) return allocate_budget(p, budget_from_size_mb(*q.target_size_mb));
    if (q.target_avg_bits) return allocate_budget(p, budget_from_average_bits(p, *q.target_avg_bits));
    if (!(*q.target_compression >= 1.0) || !std::isfinite(*q.target_compression))
      throw UsageError("--target_compression " + std::to_string(*q.target_compression) + ": expected a ratio >= 1");
    return allocate_budget(p, static_cast<int64_t>(std::floor(static_cast<double>(r.fp32_bytes) / *q.target_compression)));
  }
  if (q.method == "uniform") {
    if (!q.uniform_bits) throw UsageError("--allocation uniform needs --uniform_bits");
    const auto it = std::find(p.bits.begin(), p.bits.end(), *q.uniform_bits);
    if (it == p.bits.end())
      throw UsageError("--uniform_bits " + std::to_string(*q.uniform_bits) + ": the sensitivity run measured " +
                       fmt::format("{}", fmt::join(p.bits, ", ")) + " bits");
    return summarize_allocation(p, std::vector<int>(p.units.size(), static_cast<int>(it - p.bits.begin())));
  }
  throw UsageError("--allocation " + q.method + ": expected kmeans, percentile, budget or uniform");
}

}  // namespace

AllocateResult read_allocation_problem(const std::string& path) {
  const nlohmann::json j = nlohmann::json::parse(read_file(path), nullptr, false);
  if (j.is_discarded()) throw FormatError(path + ": not valid JSON");
  if (j.value("schema", "") != "squish.sensitivity")
    throw FormatError(path + ": not a squish sensitivity file (expected \"schema\": \"squish.sensitivity\")");
  AllocateResult r;
  r.fp32_bytes = field<int64_t>(field<nlohmann::json>(j, "source", path), "fp32_bytes", path + ": source");
  r.problem.bits = field<std::vector<int>>(field<nlohmann::json>(j, "options", path), "bits", path + ": options");
  r.problem.fixed_bytes = field<int64_t>(j, "fixed_bytes", path);
  if (const auto w = j.find("fixed_weights"); w != j.end()) {  // absent in files from before it was recorded
    r.problem.fixed_weights = field<int64_t>(*w, "count", path + ": fixed_weights");
    r.problem.fixed_weight_bytes = field<int64_t>(*w, "bytes", path + ": fixed_weights");
  }
  const auto units = field<nlohmann::json>(j, "units", path);
  if (!units.is_array()) throw FormatError(path + ": \"units\" is not an array");
  for (size_t u = 0; u < units.size(); ++u) {
    const std::string context = path + ": units[" + std::to_string(u) + "]";
    AllocationUnit unit;
    unit.name = field<std::string>(units[u], "name", context);
    unit.parameters = field<int64_t>(units[u], "parameters", context);
    const auto widths = field<nlohmann::json>(units[u], "widths", context);
    if (!widths.is_array() || widths.size() != r.problem.bits.size())
      throw FormatError(context + ": expected " + std::to_string(r.problem.bits.size()) + " widths");
    std::vector<std::string> formats;
    for (size_t w = 0; w < widths.size(); ++w) {
      const std::string wc = context + ".widths[" + std::to_string(w) + "]";
      if (field<int>(widths[w], "bits", wc) != r.problem.bits[w])
        throw FormatError(wc + ": bits differ from options.bits[" + std::to_string(w) + "]");
      unit.sensitivity.push_back(field<double>(widths[w], "sensitivity", wc));
      unit.bytes.push_back(field<int64_t>(widths[w], "bytes", wc));
      formats.push_back(field<std::string>(widths[w], "format", wc));
    }
    r.formats.push_back(std::move(formats));
    r.linears.push_back(field<std::vector<std::string>>(units[u], "linears", context));
    r.problem.units.push_back(std::move(unit));
  }
  validate_allocation_problem(r.problem);
  // Sensitivity files written before plans recorded their model have none; their plans say nothing.
  if (const auto m = j.find("model"); m != j.end()) r.plan.model = planned_model_from_json(*m, path + ": \"model\"");
  return r;
}

void check_allocation_request(const AllocateRequest& q, const std::vector<int>& bits, int64_t fp32_bytes,
                              int64_t smallest_bytes) {
  if (q.uniform_bits && std::find(bits.begin(), bits.end(), *q.uniform_bits) == bits.end())
    throw UsageError(fmt::format("--uniform_bits {}: not among the measured widths (--bits {})", *q.uniform_bits,
                                 fmt::join(bits, " ")));
  const auto refuse = [&](const std::string& target) {
    throw UsageError(fmt::format("{}: the smallest model these widths make is {} ({:.2f}x smaller than fp32, every "
                                 "unit at {} bits); ask for at most that, or measure a smaller width with --bits",
                                 target, format_bytes(smallest_bytes),
                                 static_cast<double>(fp32_bytes) / static_cast<double>(smallest_bytes),
                                 *std::min_element(bits.begin(), bits.end())));
  };
  if (q.target_compression && std::isfinite(*q.target_compression) && *q.target_compression >= 1.0 &&
      static_cast<int64_t>(std::floor(static_cast<double>(fp32_bytes) / *q.target_compression)) < smallest_bytes)
    refuse(fmt::format("--target_compression {}", *q.target_compression));
  if (q.target_size_mb && *q.target_size_mb > 0 && budget_from_size_mb(*q.target_size_mb) < smallest_bytes)
    refuse(fmt::format("--target_size_mb {}", *q.target_size_mb));
}

namespace {

// Takes the embeddings unit out of the problem at width `bits`: its bytes become fixed, its weights
// count in the stored bits per weight as the fixed ones do. Returns its format there.
std::string pin_embeddings(AllocateResult& r, int bits) {
  AllocationProblem& p = r.problem;
  const auto unit = std::find_if(r.linears.begin(), r.linears.end(), [](const auto& l) { return l.empty(); });
  if (unit == r.linears.end())
    throw UsageError(
        fmt::format("--embeddings_bits {}: {} measured no embeddings unit", bits, r.request.sensitivity_path));
  const auto width = std::find(p.bits.begin(), p.bits.end(), bits);
  if (width == p.bits.end())
    throw UsageError(
        fmt::format("--embeddings_bits {}: not among the measured widths (--bits {})", bits, fmt::join(p.bits, " ")));
  const auto u = static_cast<size_t>(unit - r.linears.begin());
  const auto w = static_cast<size_t>(width - p.bits.begin());
  const std::string format = r.formats[u][w];
  p.fixed_bytes += p.units[u].bytes[w];
  p.fixed_weights += p.units[u].parameters;
  p.fixed_weight_bytes += p.units[u].bytes[w];
  p.units.erase(p.units.begin() + static_cast<std::ptrdiff_t>(u));
  r.formats.erase(r.formats.begin() + static_cast<std::ptrdiff_t>(u));
  r.linears.erase(unit);
  if (p.units.empty()) throw UsageError("--embeddings_bits: no unit is left to allocate");
  return format;
}

}  // namespace

AllocateResult run_allocate(const AllocateRequest& q) {
  AllocateResult r = read_allocation_problem(q.sensitivity_path);
  r.request = q;
  if (q.embeddings_bits) r.pinned_embeddings = pin_embeddings(r, *q.embeddings_bits);
  int64_t smallest = r.problem.fixed_bytes;
  for (const AllocationUnit& u : r.problem.units) smallest += *std::min_element(u.bytes.begin(), u.bytes.end());
  check_allocation_request(q, r.problem.bits, r.fp32_bytes, smallest);
  r.allocation = allocate(r, q);
  if (!r.pinned_embeddings.empty()) r.plan.embeddings = r.pinned_embeddings;
  for (size_t u = 0; u < r.problem.units.size(); ++u) {
    const std::string& format = r.formats[u][static_cast<size_t>(r.allocation.width_index[u])];
    if (r.linears[u].empty()) r.plan.embeddings = format;
    for (const std::string& linear : r.linears[u]) r.plan.linears[linear] = format;
  }
  if (!q.output.empty()) write_file_atomic(q.output, plan_json(r).dump(2) + "\n");
  return r;
}

nlohmann::ordered_json plan_json(const AllocateResult& r) {
  const Allocation& a = r.allocation;
  nlohmann::ordered_json j = run_header("bit_plan", 1);
  const nlohmann::ordered_json plan = bit_plan_json(r.plan);
  for (const auto& [key, value] : plan.items()) j[key] = value;
  nlohmann::ordered_json allocation = {{"method", allocation_method_name(a)}, {"sensitivity", r.request.sensitivity_path}};
  if (const auto* k = std::get_if<KMeansDetails>(&a.details))
    allocation["kmeans"] = {{"score_bits", k->score_bits}, {"cluster_on", cluster_space_name(k->space)},
                            {"centroids", k->centroids},   {"cluster", k->cluster},
                            {"inertia", k->inertia},       {"iterations", k->iterations},
                            {"converged", k->converged},   {"seed", k->seed},
                            {"restarts", k->restarts}};
  if (const auto* p = std::get_if<PercentileDetails>(&a.details))
    allocation["percentile"] = {{"score_bits", p->score_bits}, {"percentiles", p->percentiles},
                                {"thresholds", p->thresholds}};
  if (const auto* b = std::get_if<BudgetDetails>(&a.details))
    allocation["budget"] = {{"budget_bytes", b->budget_bytes}, {"minimum_bytes", b->minimum_bytes},
                            {"largest_pareto_front", b->largest_pareto_front}};
  if (!r.pinned_embeddings.empty())
    allocation["embeddings_pinned"] = {{"bits", *r.request.embeddings_bits}, {"format", r.pinned_embeddings}};
  j["allocation"] = allocation;
  nlohmann::ordered_json units = nlohmann::ordered_json::array();
  for (size_t u = 0; u < r.problem.units.size(); ++u) {
    const size_t w = static_cast<size_t>(a.width_index[u]);
    units.push_back({{"name", r.problem.units[u].name}, {"bits", a.bits[u]}, {"format", r.formats[u][w]},
                     {"sensitivity", r.problem.units[u].sensitivity[w]}, {"bytes", r.problem.units[u].bytes[w]},
                     {"parameters", r.problem.units[u].parameters}});
  }
  j["units"] = units;
  j["expected"] = {{"unit_bytes", a.unit_bytes},
                   {"total_bytes", a.total_bytes},
                   {"fp32_bytes", r.fp32_bytes},
                   {"compression_vs_fp32", a.total_bytes > 0 ? static_cast<double>(r.fp32_bytes) / a.total_bytes : 0.0},
                   {"total_sensitivity", a.total_sensitivity},
                   {"average_stored_bits", a.average_stored_bits},
                   {"average_nominal_bits", a.average_nominal_bits}};
  return j;
}

std::string allocation_summary(const AllocateResult& r) {
  const Allocation& a = r.allocation;
  std::string text = fmt::format("{} allocation over {} units ({} bits)\n", allocation_method_name(a),
                                 r.problem.units.size(), fmt::join(r.problem.bits, "/"));
  for (size_t u = 0; u < r.problem.units.size(); ++u) {
    const size_t w = static_cast<size_t>(a.width_index[u]);
    text += fmt::format("  {:<44} {:>2} bits {:<13} sensitivity {:.6f}  {}\n", r.problem.units[u].name, a.bits[u],
                        r.formats[u][w], r.problem.units[u].sensitivity[w], format_bytes(r.problem.units[u].bytes[w]));
  }
  if (!r.pinned_embeddings.empty())
    text += fmt::format("  {:<44} {:>2} bits {:<13} (--embeddings_bits, not allocated)\n", "embeddings",
                        *r.request.embeddings_bits, r.pinned_embeddings);
  text += fmt::format("  expected size {} ({:.2f}x smaller than fp32 {}), {:.2f} stored bits per weight\n",
                      format_bytes(a.total_bytes), static_cast<double>(r.fp32_bytes) / a.total_bytes,
                      format_bytes(r.fp32_bytes), a.average_stored_bits);
  return text;
}

}  // namespace squish
