#include "report/mixed_precision_report.h"

#include <fmt/format.h>

#include "core/human_format.h"
#include "eval/run_header.h"
#include "report/eval_report.h"

namespace squish {
namespace {

// A classifier's accuracy, precision, recall and F1; a language-modelling task's own metrics
// (HellaSwag: acc, acc_norm and their standard errors) in their place.
nlohmann::ordered_json scores_json(const EvalResult& e, const EvalRequest& request) {
  nlohmann::ordered_json j = {{"model_dir", request.model_dir},
                              {"metric", {{"name", e.score.headline}, {"value", e.score.value}}}};
  if (e.task == "hellaswag") {
    for (const auto& [name, value] : e.score.all) j[name] = value;
  } else {
    j["accuracy"] = e.metrics.accuracy;
    j["precision"] = e.metrics.precision;
    j["recall"] = e.metrics.recall;
    j["f1"] = e.metrics.f1;
  }
  j.update(nlohmann::ordered_json{{"examples", e.examples},
                                  {"file_bytes", e.model_file_bytes},
                                  {"resident_bytes", e.resident_bytes},
                                  {"compression_vs_fp32", compression_vs_fp32(e)},
                                  {"linear_formats", e.linear_formats},
                                  {"examples_per_second", e.examples_per_second},
                                  {"forward_seconds", e.forward_seconds}});
  return j;
}

}  // namespace

nlohmann::ordered_json mixed_precision_json(const MixedPrecisionResult& r) {
  const MixedPrecisionRequest& q = r.request;
  const SensitivityOptions& s = r.sensitivity.result.options;
  nlohmann::ordered_json j = run_header("mixed_precision", 1);
  j["request"] = {{"model_dir", q.model_dir},
                  {"task", q.task},
                  {"split", r.split},
                  {"max_samples", q.max_samples},
                  {"data_dir", q.data_dir},
                  {"output_dir", q.output_dir},
                  {"max_length", q.eval.max_length},
                  {"seed", q.seed},
                  {"calib_split", q.sensitivity.calib_split},
                  {"calib_size", q.sensitivity.calib_size},
                  {"method", similarity_method_name(s.method)},
                  {"topk", s.topk},
                  {"bits", s.bits},
                  {"group_size", s.group_size},
                  {"granularity", s.granularity == SensitivityGranularity::kLayer ? "layer" : "linear"},
                  {"compare", s.compare == CompareAt::kLayer ? "layer" : "final"},
                  {"allocation", q.allocation.method},
                  {"rounding", q.rounding},
                  {"attention", attention_arithmetic_name(q.attention)}};
  if (rounding_uses_hessians(q.rounding))
    j["request"]["gptq"] = {{"calib_size", q.gptq_calib_size},
                            {"damp", q.gptq_damp},
                            {"block_size", q.gptq_block_size},
                            {"act_order", q.gptq_act_order}};
  j["fp32"] = scores_json(r.fp32, r.fp32_request);
  j["fp32"]["fp32_bytes"] = fp32_bytes(r.fp32);
  j["quantized"] = scores_json(r.quantized, r.quantized_request);
  j["quantized"]["average_bits"] = r.quantize.average_bits;
  j["quantized"]["word_embeddings"] = r.quantize.embeddings_format;
  j["drop_points"] = (r.fp32.score.value - r.quantized.score.value) * 100.0;
  j["speedup_vs_fp32"] = r.quantized.examples_per_second / r.fp32.examples_per_second;
  nlohmann::ordered_json units = nlohmann::ordered_json::array();
  const Allocation& a = r.allocation.allocation;
  for (size_t u = 0; u < r.allocation.problem.units.size(); ++u) {
    const size_t w = static_cast<size_t>(a.width_index[u]);
    units.push_back({{"name", r.allocation.problem.units[u].name}, {"bits", a.bits[u]},
                     {"format", r.allocation.formats[u][w]},
                     {"sensitivity", r.allocation.problem.units[u].sensitivity[w]},
                     {"bytes", r.allocation.problem.units[u].bytes[w]}});
  }
  j["allocation"] = {{"method", allocation_method_name(a)}, {"units", units},
                     {"expected_total_bytes", a.total_bytes}, {"average_stored_bits", a.average_stored_bits}};
  j["timing"] = {{"sensitivity_seconds", r.sensitivity_seconds},
                 {"sensitivity_fp32_pass_seconds", r.sensitivity.result.fp32_seconds},
                 {"quantize_seconds", r.quantize.wall_seconds},
                 {"fp32_eval_seconds", r.fp32.wall_seconds},
                 {"quantized_eval_seconds", r.quantized.wall_seconds},
                 {"wall_seconds", r.wall_seconds},
                 {"threads", r.fp32.threads}};
  j["files"] = {{"sensitivity", "sensitivity.json"}, {"log", "sensitivity.log"}, {"plan", "plan.json"},
                {"model", "model"}};
  return j;
}

std::string mixed_precision_table(const MixedPrecisionResult& r) {
  const EvalResult &f = r.fp32, &m = r.quantized;
  std::string text = fmt::format("mixed precision: {} on {} {} ({} examples), {} allocation, {} rounding\n",
                                 r.sensitivity.model_name, r.request.task, r.split, format_count(f.examples),
                                 allocation_method_name(r.allocation.allocation), r.request.rounding);
  text += fmt::format("  {:<10} {:>8} {:>10} {:>12} {:>8} {:>10}\n", "model", f.score.headline, "size", "compression",
                      "bits", "examples/s");
  // The reference is the model computed in fp32, whatever its file stores (MiniLM's is F16).
  text += fmt::format("  {:<10} {:>8.4f} {:>10} {:>11.2f}x {:>8} {:>10.1f}\n", "fp32", f.score.value,
                      format_bytes(fp32_bytes(f)), 1.0, "32", f.examples_per_second);
  text += fmt::format("  {:<10} {:>8.4f} {:>10} {:>11.2f}x {:>8.2f} {:>10.1f}\n", "mixed", m.score.value,
                      format_bytes(m.model_file_bytes), compression_vs_fp32(m),
                      r.quantize.average_bits, m.examples_per_second);
  if (f.model_file_bytes != fp32_bytes(f))
    text += fmt::format("  (the fp32 model's source file is {}, {:.2f}x smaller than fp32 as it stores them)\n",
                        format_bytes(f.model_file_bytes), compression_vs_fp32(f));
  text += fmt::format("  change {:+.2f} points\n  bits per unit:", (m.score.value - f.score.value) * 100.0);
  const Allocation& a = r.allocation.allocation;
  size_t column = 16;  // lines stay within 100 columns
  for (size_t u = 0; u < a.bits.size(); ++u) {
    const std::string item = fmt::format(" {}={}", r.allocation.problem.units[u].name, a.bits[u]);
    if (column + item.size() > 100) {
      text += "\n   ";
      column = 3;
    }
    text += item;
    column += item.size();
  }
  text += fmt::format("\n  wrote {} (sensitivity {}, total {})\n", r.request.output_dir,
                      format_duration(r.sensitivity_seconds), format_duration(r.wall_seconds));
  return text;
}

}  // namespace squish
