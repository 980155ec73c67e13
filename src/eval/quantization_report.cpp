#include "eval/quantization_report.h"

#include <map>

#include "eval/run_header.h"
#include "kernels/int8_scheme.h"

namespace squish {
namespace {

nlohmann::ordered_json layer_json(const LayerDecision& d) {
  nlohmann::ordered_json j = {{"name", d.name}, {"role", d.role}, {"format", d.format}};
  if (!d.granularity.empty()) {
    j["weight_granularity"] = d.granularity;
    j["weight_scale"] = {{"min", d.weight_scale_min}, {"max", d.weight_scale_max}};
  }
  if (d.input) j["input"] = {{"scale", d.input->scale}, {"zero_point", d.input->zero_point}, {"qmax", d.activation_qmax}};
  if (d.input_range) j["input_range"] = {d.input_range->lo, d.input_range->hi};
  if (d.dynamic_error) j["output_error"]["int8-dynamic"] = *d.dynamic_error;
  if (d.static_error) j["output_error"]["int8-static"] = *d.static_error;
  return j;
}

}  // namespace

nlohmann::ordered_json quantization_json(const QuantizeResult& r) {
  const QuantizeRequest& q = r.request;
  nlohmann::ordered_json j = run_header("quantization", 1);
  std::map<std::string, int> formats;
  for (const LayerDecision& d : r.layers) ++formats[d.format];
  j["source"] = {{"model_dir", q.model_dir}, {"parameters", r.parameters}, {"file_bytes", r.source_file_bytes}};
  if (!r.warnings.empty()) j["warnings"] = r.warnings;
  j["mode"] = q.mode;
  if (q.mode == "plan") {
    // The plan itself, not only its path: the model directory describes itself wherever it moves.
    j["scheme"] = {{"plan", bit_plan_json(*r.plan)},
                   {"rounding", q.rounding},
                   {"word_embeddings", r.embeddings_format},
                   {"average_bits", r.average_bits},
                   {"formats", formats}};
  } else {
    j["scheme"] = {{"convention", "real = scale * (q - zero_point)"},
                   {"weights", q.quant.granularity == WeightGranularity::kPerChannel ? "s8 symmetric per_channel"
                                                                                     : "s8 symmetric per_tensor"},
                   {"activations", q.mode == "static" ? "u8 per tensor, calibrated" : "u8 per row, at run time"},
                   {"activation_qmax", q.quant.activation_qmax},
                   {"quantize_head", q.quant.quantize_head},
                   {"rounding", q.rounding},
                   {"word_embeddings", r.embeddings_format},
                   {"average_bits", r.average_bits},
                   {"formats", formats}};
  }
  j["scheme"]["attention"] = attention_arithmetic_name(q.attention);
  if (rounding_uses_hessians(q.rounding))
    j["scheme"]["gptq"] = {{"damp", q.gptq_damp}, {"block_size", q.gptq_block_size}, {"act_order", q.gptq_act_order}};
  if (r.calibration) {
    nlohmann::ordered_json observer = {{"kind", observer_name(q.observer.kind)}};
    if (q.observer.kind == ObserverKind::kPercentile) observer["percentile"] = q.observer.percentile;
    if (q.observer.kind == ObserverKind::kMovingAverage) observer["averaging_constant"] = q.observer.averaging_constant;
    if (q.observer.kind >= ObserverKind::kPercentile) observer["bins_per_side"] = q.observer.bins;
    observer["state_bytes"] = r.observer_bytes;
    j["calibration"] = calibration_json(*r.calibration);
    if (q.mode == "static") j["calibration"]["observer"] = observer;
    if (q.rounding != "nearest") j["calibration"]["used_by"] = q.rounding;
    if (!r.calibration->request.eval_split.empty()) j["duplicates"] = duplicates_json(*r.calibration);
  }
  if (!r.awq.empty()) {
    nlohmann::ordered_json choices = nlohmann::ordered_json::array();
    for (const AwqChoice& c : r.awq)
      choices.push_back({{"producer", c.producer},
                         {"alpha", c.alpha},
                         {"rtn_output_error", c.rtn_error},
                         {"awq_output_error", c.awq_error}});
    j["awq"] = choices;
  }
  if (r.awq_clip) j["awq_clip"] = {{"row_groups", r.awq_clip->groups}, {"clipped", r.awq_clip->clipped}};
  if (r.smoothquant) {
    nlohmann::ordered_json inputs = nlohmann::ordered_json::array();
    for (const SmoothedInput& n : r.smoothquant->inputs) {
      nlohmann::ordered_json input = {{"producer", n.producer}};
      if (r.smoothquant->automatic) {
        input["alpha"] = n.smoothed ? nlohmann::ordered_json(n.alpha) : nlohmann::ordered_json(nullptr);
        input["output_error_unsmoothed"] = n.output_error_unsmoothed;
        input["output_error"] = n.output_error;
      }
      input.update({{"min_scale", n.min_scale},
                    {"max_scale", n.max_scale},
                    {"activation_max_before", n.activation_max_before},
                    {"activation_max_after", n.activation_max_after},
                    {"activation_max_over_median_before", n.activation_spread_before},
                    {"activation_max_over_median_after", n.activation_spread_after}});
      inputs.push_back(std::move(input));
    }
    j["smoothquant"] = {{"alpha", r.smoothquant->automatic ? nlohmann::ordered_json("auto")
                                                           : nlohmann::ordered_json(r.smoothquant->alpha)},
                        {"inputs", inputs}};
  }
  if (r.fallback) {
    const FallbackResult& f = *r.fallback;
    nlohmann::ordered_json steps = nlohmann::ordered_json::array();
    for (const FallbackStep& s : f.steps)
      steps.push_back({{"linear", s.linear}, {"from", s.from}, {"to", s.to}, {"metric", s.metric}});
    j["fallback"] = {{"max_drop_points", f.max_drop_points}, {"metric", q.fallback_metric}, {"holdout_split", q.calib_split},
                     {"holdout_size", r.holdout_indices.size()}, {"fp32_metric", f.fp32_metric},
                     {"start_metric", f.start_metric}, {"final_metric", f.final_metric},
                     {"met", f.met}, {"steps", steps}, {"holdout_indices", r.holdout_indices}};
  }
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  for (const LayerDecision& d : r.layers) layers.push_back(layer_json(d));
  j["layers"] = layers;
  j["size"] = {{"file_bytes", r.output_file_bytes},
               {"fp32_bytes", r.fp32_bytes},
               {"compression_vs_fp32", static_cast<double>(r.fp32_bytes) / static_cast<double>(r.output_file_bytes)},
               {"compression_vs_source_file",
                static_cast<double>(r.source_file_bytes) / static_cast<double>(r.output_file_bytes)}};
  j["seconds"] = {{"load", r.load_seconds},         {"calibrate", r.calibrate_seconds},
                  {"quantize", r.quantize_seconds}, {"fallback", r.fallback_seconds},
                  {"save", r.save_seconds},         {"wall", r.wall_seconds}};
  j["threads"] = r.threads;
  return j;
}

}  // namespace squish
