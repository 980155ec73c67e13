// squish sensitivity, allocate and mixed-precision: the study's sensitivity-based mixed-precision
// pipeline as three steps (measure, allocate, then squish quantize --plan) or as one command.
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/run_outputs.h"
#include "core/checked_stdout.h"
#include "core/file_util.h"
#include "core/human_format.h"
#include "core/output_file.h"
#include "eval/allocate_pipeline.h"
#include "eval/mixed_precision_pipeline.h"
#include "eval/sensitivity_pipeline.h"
#include "report/mixed_precision_report.h"

namespace squish::cli {
namespace {

struct SensitivityFlags {
  std::string method = "pwcca", granularity = "layer", compare = "layer";
};

// mixed-precision's --compare when not given: k-means and percentile rank units against each other,
// which needs one yardstick for all of them (the last layer's representation), while a layer's own
// output misranks them (docs/allocation.md); the budget method is as good, and 3.5x cheaper, at the
// layer's own output.
std::string default_compare(const std::string& allocation) {
  return allocation == "kmeans" || allocation == "percentile" ? "final" : "layer";
}

// --similarity, --topk, --bits, --group_size, --granularity, --compare, --max_tokens, calibration flags.
// --similarity is the one name of the measure (--method, the name sensitivity first had, is accepted).
void add_sensitivity_options(CLI::App& cmd, SensitivityRequest& s, SensitivityFlags& f) {
  add_calibration_options(cmd, s.calib_split, s.calib_size, s.calib_batch_size);
  cmd.add_option("--similarity,--method", f.method, "svcca | pwcca | cka")->capture_default_str()
      ->check(one_of({"svcca", "pwcca", "cka"}));
  cmd.add_option("--topk", s.options.topk, "SVCCA: singular directions kept per side")->capture_default_str()
      ->check(integer_in(1, 1 << 16));
  cmd.add_option("--bits", s.options.bits,
                 "Candidate widths (2 3 4 8 16: int2/int3/int4 groups, int8 per channel, fp16)")
      ->capture_default_str()
      ->check(one_of({"2", "3", "4", "8", "16"}));
  cmd.add_option("--group_size", s.options.group_size,
                 "Weights per group of the 2-, 3- and 4-bit formats, along K (a multiple of 16 that divides K)")
      ->capture_default_str()
      ->check(integer_in(16, 1 << 16));
  cmd.add_option("--granularity", f.granularity, "layer (one width per encoder layer) | linear (one per Linear)")
      ->capture_default_str()->check(one_of({"layer", "linear"}));
  cmd.add_option("--compare", f.compare,
                 "layer (the layer's own output) | final (the last layer's [CLS] row; a causal LM's tokens); "
                 "mixed-precision's default: final for kmeans and percentile, layer otherwise")
      ->capture_default_str()
      ->check(one_of({"layer", "final"}));
  cmd.add_option("--max_tokens", s.options.max_tokens, "Compared token rows at most (a seeded subsample)")
      ->capture_default_str()->check(integer_in(2));
}

void bind_sensitivity_flags(SensitivityRequest& s, const SensitivityFlags& f) {
  s.options.method = parse_similarity_method(f.method);
  s.options.granularity = parse_sensitivity_granularity(f.granularity);
  s.options.compare = parse_compare_at(f.compare);
}

// --allocation, targets, --percentiles, --score_bits, --uniform_bits, --embeddings_bits.
// --allocation is the one name of the method (allocate's --method is accepted).
void add_allocation_options(CLI::App& cmd, AllocateRequest& a, const std::string& aliases) {
  cmd.add_option("--allocation" + aliases, a.method,
                 "kmeans | percentile | budget (exact, under a size target) | uniform")
      ->capture_default_str()
      ->check(one_of({"kmeans", "percentile", "budget", "uniform"}));
  cmd.add_option_function<double>("--target_size_mb", [&a](double v) { a.target_size_mb = v; },
                                  "budget: model size on disk, MB = 10^6 bytes")
      ->check(real_in(1e-9, 1e12));
  cmd.add_option_function<double>("--target_avg_bits", [&a](double v) { a.target_avg_bits = v; },
                                  "budget: stored bits per weight of the Linears and word embeddings")
      ->check(real_in(1e-9, 1e12));
  cmd.add_option_function<double>("--target_compression", [&a](double v) { a.target_compression = v; },
                                  "budget: at least this many times smaller than fp32 (4 bytes a parameter)")
      ->check(real_in(1.0, 1e6));
  cmd.add_option("--percentiles", a.percentiles, "percentile: k-1 increasing thresholds in (0, 100); default equal");
  cmd.add_option_function<int>("--score_bits", [&a](int v) { a.score_bits = v; },
                               "kmeans, percentile: rank units by their sensitivity at this width (default the lowest)");
  cmd.add_option_function<std::string>(
         "--cluster_on", [&a](const std::string& v) { a.cluster_on = v; },
         "kmeans: log_profile (the log of every width's sensitivity, the default) | score (the sensitivity at "
         "--score_bits, as the study clusters) | log_score")
      ->check(one_of({"score", "log_score", "log_profile"}));
  cmd.add_option_function<int>("--uniform_bits", [&a](int v) { a.uniform_bits = v; },
                               "uniform: every unit at this width");
  cmd.add_option_function<int>(
      "--embeddings_bits", [&a](int v) { a.embeddings_bits = v; },
      "The word embeddings at this measured width, outside the allocation");
}

}  // namespace

void add_sensitivity_command(CLI::App& app) {
  struct Options {
    SensitivityRequest request;
    SensitivityFlags flags;
    int threads = 0;
    RunOutputs outputs;
  };
  auto o = std::make_shared<Options>();
  SensitivityRequest& s = o->request;
  CLI::App* cmd = app.add_subcommand("sensitivity", "How much each layer's representation changes when it alone is "
                                                    "quantized, per width (SVCCA, PWCCA or CKA)");
  add_model_dir_option(*cmd, s.model_dir, "fp32 HF model directory");
  add_output_dir_option(*cmd, s.output_dir, "Run folder to write: sensitivity.json and sensitivity.log");
  add_task_option(*cmd, s.task, std::nullopt,
                  "a classifier's task, whose examples calibrate, or hellaswag for a causal LM")
      ->required();
  cmd->add_option("--calib_data", s.calib_data,
                  "A causal LM's calibration texts: sst2 | mrpc | imdb (that task's --calib_split) or a text file "
                  "(JSONL {\"text\"} or one text a line); default imdb. HellaSwag items are refused");
  cmd->add_option("--data_dir", s.data_dir, "Folder holding glue/ and imdb/")->capture_default_str();
  cmd->add_option("--split,--eval_split", s.eval_split,
                  "The split the model will be scored on (refused for calibration; "
                  "default dev, test for imdb)")
      ->check(one_of({"train", "dev", "test"}));
  add_sensitivity_options(*cmd, s, o->flags);
  add_max_length_option(*cmd, s.max_length);
  add_seed_option(*cmd, s.options.seed, "Seed of the calibration subset and the token subsample");
  add_threads_option(*cmd, o->threads);
  add_run_output_flags(*cmd, o->outputs, "sensitivity.json");
  cmd->callback(command(&o->threads, [o] {
    bind_sensitivity_flags(o->request, o->flags);
    check_run_outputs(o->outputs);
    const SensitivityRun run = run_sensitivity(o->request);
    if (summary_on_stdout(o->outputs))
      write_stdout(sensitivity_log(run) + "wrote " + o->request.output_dir + " (sensitivity.json, sensitivity.log)\n");
    write_run_outputs(o->outputs, o->request.output_dir, "sensitivity.json");
  }));
}

void add_allocate_command(CLI::App& app) {
  auto a = std::make_shared<AllocateRequest>();
  auto report = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("allocate", "A bit plan from a sensitivity.json: a width per unit");
  cmd->add_option("--sensitivity", a->sensitivity_path, "sensitivity.json written by squish sensitivity")->required();
  cmd->add_option("--output", a->output, "plan.json to write")->required();
  add_allocation_options(*cmd, *a, ",--method");
  add_seed_option(*cmd, a->seed, "Seed of k-means++");
  add_report_flag(*cmd, *report);
  cmd->callback(command(nullptr, [a, report] {
    refuse_output_over_inputs(check_output_path(a->output, "--output"), {a->sensitivity_path});
    const std::string page = *report ? report_path_beside(a->output) : "";
    write_stdout(allocation_summary(run_allocate(*a)) + "wrote " + a->output + "\n");
    if (*report) write_run_report(a->output, page);
  }));
}

void add_mixed_precision_command(CLI::App& app) {
  struct Options {
    MixedPrecisionRequest request;
    SensitivityFlags flags;
    int threads = 0;
    RunOutputs outputs;
  };
  auto o = std::make_shared<Options>();
  MixedPrecisionRequest& q = o->request;
  q.eval.max_length = 512;
  CLI::App* cmd = app.add_subcommand(
      "mixed-precision", "Sensitivity, bit allocation, quantization and evaluation in one run folder");
  add_model_dir_option(*cmd, q.model_dir, "fp32 HF model directory");
  add_output_dir_option(*cmd, q.output_dir, "Run folder to write (must not exist, or be empty)");
  add_task_option(*cmd, q.task, std::nullopt, "a classifier's task, or hellaswag for a causal LM")->required();
  cmd->add_option("--data_dir", q.data_dir, "Folder holding glue/, imdb/ and hellaswag/")->capture_default_str();
  cmd->add_option("--data_file", q.data_file, "hellaswag: the items to score (default: every validation item)");
  cmd->add_option("--calib_data", q.sensitivity.calib_data,
                  "hellaswag: the calibration texts, sst2 | mrpc | imdb or a text file (default imdb)");
  cmd->add_option("--split", q.split, "Evaluation split (default dev; test for imdb)")
      ->check(one_of({"train", "dev", "test"}));
  add_max_samples_option(*cmd, q.max_samples);
  add_sensitivity_options(*cmd, q.sensitivity, o->flags);
  add_allocation_options(*cmd, q.allocation, "");
  cmd->add_option("--rounding", q.rounding,
                  "low-bit codes: nearest | gptq | awq (causal LMs) | awq_gptq (AWQ's scales, then GPTQ's rounding)")
      ->capture_default_str()
      ->check(one_of({"nearest", "gptq", "awq", "awq_gptq"}));
  cmd->add_option("--gptq_calib_size", q.gptq_calib_size,
                  "gptq, awq: calibration examples whose inputs make the Hessians (the scales)")
      ->capture_default_str()->check(integer_in(1));
  cmd->add_flag("--act_order", q.gptq_act_order, "gptq: round input columns by decreasing Hessian diagonal");
  cmd->add_option("--damp", q.gptq_damp, "gptq: dampening, a fraction of the Hessian's mean diagonal")
      ->capture_default_str()->check(real_in(0.0, 1.0));
  add_attention_option(*cmd, q.attention);
  add_max_length_option(*cmd, q.eval.max_length);
  add_batch_size_option(*cmd, q.eval.batch_size);
  add_seed_option(*cmd, q.seed, "Seed of every subset, the token subsample and k-means");
  add_threads_option(*cmd, o->threads);
  add_run_output_flags(*cmd, o->outputs, "results.json");
  cmd->callback(command(&o->threads, [o, cmd] {
    const bool gptq = rounding_uses_hessians(o->request.rounding);
    refuse_given(*cmd, "--damp", !gptq, "is GPTQ's: it goes with --rounding gptq or awq_gptq");
    refuse_given(*cmd, "--act_order", !gptq, "is GPTQ's: it goes with --rounding gptq or awq_gptq");
    refuse_given(*cmd, "--gptq_calib_size", o->request.rounding == "nearest",
                 "sets GPTQ's and AWQ's calibration: it goes with --rounding gptq, awq or awq_gptq");
    for (const char* flag : {"--data_file", "--calib_data"})
      refuse_given(*cmd, flag, o->request.task != "hellaswag", "is read for --task hellaswag");
    if (cmd->count("--compare") == 0) o->flags.compare = default_compare(o->request.allocation.method);
    bind_sensitivity_flags(o->request.sensitivity, o->flags);
    check_run_outputs(o->outputs);
    const MixedPrecisionResult r = run_mixed_precision(o->request);
    std::vector<std::string> warnings = r.fp32.warnings;
    warnings.insert(warnings.end(), r.quantize.warnings.begin(), r.quantize.warnings.end());
    print_warnings(warnings);
    write_file_atomic(o->request.output_dir + "/results.json", mixed_precision_json(r).dump(2) + "\n");
    if (summary_on_stdout(o->outputs)) write_stdout(mixed_precision_table(r));
    write_run_outputs(o->outputs, o->request.output_dir, "results.json");
  }));
}

}  // namespace squish::cli
