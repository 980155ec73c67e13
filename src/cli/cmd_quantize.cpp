// squish quantize: an fp32 model directory in, an int8 one out (dynamic W8A32 or static W8A8 with
// calibration), which every other command takes as --model_dir.
#include <map>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/run_outputs.h"
#include "core/checked_stdout.h"
#include "core/human_format.h"
#include "eval/quantize_pipeline.h"

namespace squish::cli {
namespace {

// What the calibration examples were used for, in the summary's words.
std::string calibration_use_of(const QuantizeRequest& q) {
  if (q.rounding == "gptq" && q.mode == "static")
    return "observer " + std::string(observer_name(q.observer.kind)) + ", then GPTQ Hessians";
  if (q.rounding == "gptq") return "GPTQ Hessians";
  if (q.rounding == "awq") return "AWQ scales";
  if (q.rounding == "awq_gptq") return "AWQ scales, then GPTQ Hessians";
  return "observer " + std::string(observer_name(q.observer.kind));
}

std::string quantize_summary(const QuantizeResult& r) {
  const QuantizeRequest& q = r.request;
  std::map<std::string, int> formats;
  for (const LayerDecision& d : r.layers) ++formats[d.format];
  std::string layers;
  for (const auto& [format, n] : formats) layers += fmt::format("{}{} {}", layers.empty() ? "" : ", ", n, format);
  std::string text =
      q.mode == "plan"
          ? fmt::format("wrote {} (bit plan {}, {} rounding)\n", q.output_dir, q.plan_path, q.rounding)
          : fmt::format("wrote {} ({} {}{})\n", q.output_dir, q.mode == "static" ? "static W8A8" : "dynamic W8A32",
                        q.quant.granularity == WeightGranularity::kPerChannel ? "per channel" : "per tensor",
                        q.rounding == "nearest" ? "" : ", " + q.rounding + " rounding");
  text += fmt::format("  Linears     {}; word embeddings {}; {:.2f} stored bits per weight{}\n", layers,
                      r.embeddings_format, r.average_bits,
                      q.attention == AttentionArithmetic::kInt8 ? "; attention int8" : "");
  const std::string calibration_use = calibration_use_of(q);
  if (r.calibration && r.calibration->request.eval_split.empty())
    text += fmt::format("  calibration {} texts of {} ({} tokens), {}\n",
                        format_count(static_cast<int64_t>(r.calibration->indices.size())), r.calibration->request.task,
                        format_count(r.calibration->tokens), calibration_use);
  else if (r.calibration)
    text += fmt::format("  calibration {} {} examples of {} ({} tokens), {}; {} duplicate{} of {} {} texts\n",
                        format_count(static_cast<int64_t>(r.calibration->indices.size())), q.calib_split, q.task,
                        format_count(r.calibration->tokens), calibration_use, r.calibration->duplicates,
                        r.calibration->duplicates == 1 ? "" : "s", q.task, r.eval_split);
  if (!r.awq.empty()) {
    int scaled = 0;
    double rtn = 0, awq = 0;
    for (const AwqChoice& c : r.awq) {
      scaled += c.alpha > 0;
      rtn += c.rtn_error;
      awq += c.awq_error;
    }
    text += fmt::format("  awq         {} of {} activations scaled; mean output error {:.4g} (nearest) -> {:.4g}\n",
                        scaled, r.awq.size(), rtn / static_cast<double>(r.awq.size()),
                        awq / static_cast<double>(r.awq.size()));
    if (r.awq_clip)
      text += fmt::format("  awq clip    {} of {} row groups on a narrower range\n", format_count(r.awq_clip->clipped),
                          format_count(r.awq_clip->groups));
  }
  if (r.smoothquant) {
    std::vector<float> before, after;
    for (const SmoothedInput& n : r.smoothquant->inputs) {
      before.push_back(n.activation_spread_before);
      after.push_back(n.activation_spread_after);
    }
    const auto median = [](std::vector<float> v) {
      std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
      return v[v.size() / 2];
    };
    int smoothed = 0;
    std::vector<float> alphas;
    for (const SmoothedInput& n : r.smoothquant->inputs)
      if (n.smoothed) {
        ++smoothed;
        alphas.push_back(static_cast<float>(n.alpha));
      }
    const std::string alpha = !r.smoothquant->automatic ? fmt::format("alpha {}", r.smoothquant->alpha)
                              : alphas.empty()          ? std::string("auto (no activation smoothed)")
                                                        : fmt::format("auto (median alpha {})", median(alphas));
    text += fmt::format("  smoothquant {} on {} of {} activations: max/median {:.1f} -> {:.1f} (median over them)\n",
                        alpha, smoothed, r.smoothquant->inputs.size(), median(before), median(after));
  }
  if (r.fallback) {
    const FallbackResult& f = *r.fallback;
    text += fmt::format("  fallback    held-out metric fp32 {:.4f}, quantized {:.4f} -> {:.4f} after {} step{} ({} --max_drop {})\n",
                        f.fp32_metric, f.start_metric, f.final_metric, f.steps.size(), f.steps.size() == 1 ? "" : "s",
                        f.met ? "within" : "NOT within", f.max_drop_points);
  }
  text += fmt::format("  size        {} (fp32 {}: {:.2f}x smaller; source file {})\n", format_bytes(r.output_file_bytes),
                      format_bytes(r.fp32_bytes), static_cast<double>(r.fp32_bytes) / r.output_file_bytes,
                      format_bytes(r.source_file_bytes));
  text += fmt::format("  time        {} (calibration {}{})\n", format_duration(r.wall_seconds),
                      format_duration(r.calibrate_seconds),
                      r.fallback ? ", fallback " + format_duration(r.fallback_seconds) : std::string());
  return text;
}

void refuse_flags_that_do_nothing(const CLI::App& cmd, const QuantizeRequest& q) {
  const bool plan = q.mode == "plan", gptq = rounding_uses_hessians(q.rounding);
  const bool calibrates = quantize_needs_calibration(q);
  for (const char* flag : {"--per_tensor", "--per_channel", "--quantize_head", "--quantize_embeddings"})
    refuse_given(cmd, flag, plan, "sets the int8 scheme; a --plan names every format itself");
  for (const char* flag : {"--observer", "--percentile", "--bins"})
    refuse_given(cmd, flag, q.mode != "static", "chooses static activation ranges: it goes with --mode static");
  for (const char* flag : {"--calib_data", "--calib_split", "--calib_size", "--calib_batch_size"})
    refuse_given(cmd, flag, !calibrates,
                 "sets the calibration, which runs for --mode static, --max_drop, --smoothquant or --rounding "
                 "gptq|awq|awq_gptq only");
  refuse_given(cmd, "--act_order", !gptq, "orders GPTQ's columns: it goes with --rounding gptq or awq_gptq");
  refuse_given(cmd, "--damp", !gptq, "is GPTQ's dampening: it goes with --rounding gptq or awq_gptq");
  for (const char* flag : {"--fallback_metric", "--holdout_size"})
    refuse_given(cmd, flag, !q.max_drop, "sets the fallback: it goes with --max_drop");
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  struct Options {
    QuantizeRequest request;
    double max_drop = 0;
    std::string smoothquant;
    int threads = 0;
    RunOutputs outputs;
  };
  auto o = std::make_shared<Options>();
  QuantizeRequest& q = o->request;
  CLI::App* cmd = app.add_subcommand(
      "quantize",
      "Quantize a classifier or a causal LM: int8 (dynamic W8A32 or static W8A8), or mixed precision by a --plan");
  add_model_dir_option(*cmd, q.model_dir, "fp32 HF model directory to quantize");
  add_output_dir_option(*cmd, q.output_dir, "New model directory to write (must not exist, or be empty)");
  add_task_option(*cmd, q.task, std::nullopt,
                  "a classifier's task, whose train split calibrates, or hellaswag for a causal LM")
      ->required();
  cmd->add_option("--calib_data", q.calib_data,
                  "A causal LM's calibration texts: sst2 | mrpc | imdb (that task's --calib_split) or a text file "
                  "(JSONL {\"text\"} or one text a line); default imdb. HellaSwag items are refused");
  cmd->add_option("--data_dir", q.data_dir, "Folder holding glue/ and imdb/")->capture_default_str();
  auto* mode = cmd->add_option("--mode", q.mode, "dynamic | static")->capture_default_str()
                   ->check(one_of({"dynamic", "static"}));
  cmd->add_option("--plan", q.plan_path, "A bit plan (squish allocate): every format from it, instead of --mode")
      ->excludes(mode);
  cmd->add_option(
         "--rounding", q.rounding,
         "The weights' codes: nearest | gptq (calibrates Hessians; with --mode, int8 codes on nearest's scales) | "
         "awq (a --plan's per-channel scales and group clipping, causal LMs) | awq_gptq (AWQ's scales, then "
         "GPTQ's rounding)")
      ->capture_default_str()
      ->check(one_of({"nearest", "gptq", "awq", "awq_gptq"}));
  cmd->add_flag("--act_order", q.gptq_act_order,
                "gptq: round input columns by decreasing Hessian diagonal (the reference code's --act-order, "
                "AutoGPTQ's desc_act), each group's scale and minimum fixed first");
  cmd->add_option("--damp", q.gptq_damp, "gptq: dampening, a fraction of the Hessian's mean diagonal")
      ->capture_default_str()->check(real_in(0.0, 1.0));
  add_quantization_options(*cmd, q.quant);
  add_observer_options(*cmd, q.observer);
  add_calibration_options(*cmd, q.calib_split, q.calib_size, q.calib_batch_size);
  cmd->add_option("--split,--eval_split", q.eval_split,
                  "The split the model will be scored on (refused for calibration; "
                  "default dev, test for imdb)")
      ->check(one_of({"train", "dev", "test"}));
  add_max_length_option(*cmd, q.max_length);
  add_seed_option(*cmd, q.seed, "Seed of the calibration and held-out subsets");
  auto* max_drop = cmd->add_option("--max_drop", o->max_drop,
                                   "Fall back layer by layer (static -> dynamic -> fp32) until the held-out metric "
                                   "is within this many points of fp32")
                       ->check(real_in(0.0, 100.0));
  cmd->add_option("--fallback_metric", q.fallback_metric,
                  "With --max_drop: task (the task's metric) | agreement (share of predictions equal to fp32's)")
      ->capture_default_str()->check(one_of({"task", "agreement"}));
  cmd->add_option("--holdout_size", q.holdout_size, "With --max_drop: train examples scored (none of them calibrate)")
      ->capture_default_str()->check(integer_in(1));
  auto* smoothquant =
      cmd->add_option("--smoothquant", o->smoothquant,
                      "SmoothQuant before int8 (causal LMs): migrate this share (alpha, 0..1; the paper's 0.5) of each "
                      "pre-norm channel's activation range into the weights, or auto: each activation's own alpha "
                      "(or none), chosen by its readers' int8 output error on the calibration rows")
          ->check(CLI::IsMember({"auto"}) | real_in(0.0, 1.0));
  add_attention_option(*cmd, q.attention);
  add_threads_option(*cmd, o->threads);
  add_run_output_flags(*cmd, o->outputs, "quantization.json");
  cmd->callback(command(&o->threads, [o, cmd, max_drop, smoothquant] {
    if (max_drop->count()) o->request.max_drop = o->max_drop;
    if (smoothquant->count() && o->smoothquant == "auto")
      o->request.smoothquant_auto = true;
    else if (smoothquant->count())
      o->request.smoothquant_alpha = std::stod(o->smoothquant);
    if (!o->request.plan_path.empty()) o->request.mode = "plan";
    refuse_flags_that_do_nothing(*cmd, o->request);
    check_run_outputs(o->outputs);
    const QuantizeResult r = run_quantize(o->request);
    print_warnings(r.warnings);
    if (summary_on_stdout(o->outputs)) write_stdout(quantize_summary(r));
    write_run_outputs(o->outputs, o->request.output_dir, "quantization.json");
  }));
}

}  // namespace squish::cli
