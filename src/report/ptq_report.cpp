#include "report/ptq_report.h"

#include <fmt/format.h>

#include "core/human_format.h"
#include "eval/run_header.h"
#include "report/eval_report.h"

namespace squish {
nlohmann::ordered_json ptq_experiment_json(const PtqExperimentResult& r, std::string_view kind) {
  const PtqExperimentRequest& q = r.request;
  nlohmann::ordered_json j = run_header(kind, 1);
  j["request"] = {{"model_dir", q.model_dir},
                  {"task", q.task},
                  {"split", r.split},
                  {"data_dir", q.data_dir},
                  {"output_dir", q.output_dir},
                  {"per_channel", q.quant.granularity == WeightGranularity::kPerChannel},
                  {"quantize_head", q.quant.quantize_head},
                  {"quantize_embeddings", q.quant.quantize_embeddings},
                  {"calib_sizes", q.calib_sizes},
                  {"calib_batch_size", q.calib_batch_size},
                  {"attention", attention_arithmetic_name(q.attention)},
                  {"seed", q.seed},
                  {"max_samples", q.max_samples},
                  {"max_length", q.eval.max_length},
                  {"batch_size", q.eval.batch_size}};
  const EvalResult& fp32 = r.variants.front().eval;
  nlohmann::ordered_json variants = nlohmann::ordered_json::array();
  for (const PtqVariant& v : r.variants) {
    const EvalResult& e = v.eval;
    nlohmann::ordered_json m = {{"name", v.name}, {"mode", v.mode}, {"model_dir", v.model_dir}};
    if (v.mode == "static") {
      m["observer"] = v.observer;
      m["calib_size"] = v.calib_size;
      m["calib_tokens"] = v.calib_tokens;
    }
    m["metric"] = {{"name", e.score.headline}, {"value", e.score.value},
                   {"change_points", (e.score.value - fp32.score.value) * 100.0}};
    m["accuracy"] = e.metrics.accuracy;
    m["precision"] = e.metrics.precision;
    m["recall"] = e.metrics.recall;
    m["f1"] = e.metrics.f1;
    m["examples"] = e.examples;
    m["file_bytes"] = e.model_file_bytes;
    m["compression_vs_fp32"] = compression_vs_fp32(e);
    m["linear_formats"] = e.linear_formats;
    m["examples_per_second"] = e.examples_per_second;
    m["speedup_vs_fp32"] = e.examples_per_second / fp32.examples_per_second;
    m["forward_seconds"] = e.forward_seconds;
    m["quantize_seconds"] = v.quantize_seconds;
    variants.push_back(m);
  }
  j["threads"] = fp32.threads;
  j["variants"] = variants;
  if (!r.warnings.empty()) j["warnings"] = r.warnings;
  return j;
}

std::string ptq_experiment_table(const PtqExperimentResult& r) {
  const EvalResult& fp32 = r.variants.front().eval;
  std::string s = fmt::format("{} {} ({} examples, max_length {}) — {}\n", r.request.task, r.split,
                              format_count(fp32.examples), r.request.eval.max_length, r.request.model_dir);
  // Within 100 columns; precision and recall are in the JSON.
  s += fmt::format("  {:<18} {:>8} {:>7} {:>8} {:>7} {:>10} {:>6} {:>10} {:>7} {:>8}\n", "variant", "metric", "change",
                   "accuracy", "f1", "size", "ratio", "examples/s", "speedup", "quantize");
  for (const PtqVariant& v : r.variants) {
    const EvalResult& e = v.eval;
    s += fmt::format("  {:<18} {:>8.4f} {:>+7.2f} {:>8.4f} {:>7.4f} {:>10} {:>5.2f}x {:>10.1f} {:>6.2f}x {:>8}\n",
                     v.name, e.score.value, (e.score.value - fp32.score.value) * 100.0, e.metrics.accuracy,
                     e.metrics.f1, format_bytes(e.model_file_bytes), compression_vs_fp32(e), e.examples_per_second,
                     e.examples_per_second / fp32.examples_per_second,
                     v.mode == "fp32" ? std::string("-") : format_duration(v.quantize_seconds));
  }
  s += fmt::format("  change: points of {} against fp32; ratio: fp32 bytes / file bytes; {} threads\n",
                   fp32.score.headline, fp32.threads);
  s += fmt::format("  wrote {}\n", r.request.output_dir);
  return s;
}

}  // namespace squish
