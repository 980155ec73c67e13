// squish ptq-compare and squish calib-ablation: the study's post-training quantization experiments,
// with the flags of the scripts they replace. Both save every quantized model under --output_dir and
// write one JSON document there (and to --output when given) and one table on stdout.
#include <memory>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/run_outputs.h"
#include "core/checked_stdout.h"
#include "core/file_util.h"
#include "eval/ptq_experiments.h"
#include "report/ptq_report.h"

namespace squish::cli {
namespace {

struct PtqCommandOptions {
  PtqExperimentRequest request;
  std::vector<std::string> observers;
  int threads = 0;
  RunOutputs outputs;
};

// The options both experiments share; `kind` names the run document ("ptq_compare").
void add_experiment_options(CLI::App& cmd, const std::shared_ptr<PtqCommandOptions>& o, const std::string& kind) {
  PtqExperimentRequest& q = o->request;
  add_model_dir_option(cmd, q.model_dir, "fp32 HF model directory");
  add_task_option(cmd, q.task, TaskKind::kClassification, "")->required();
  cmd.add_option("--split", q.split, "Split to score on (default dev, test for imdb; never train)")
      ->check(one_of({"dev", "test"}));
  cmd.add_option("--data_dir", q.data_dir, "Folder holding glue/ and imdb/")->capture_default_str();
  add_output_dir_option(cmd, q.output_dir, "New directory for the quantized models and the results JSON");
  add_quantization_options(cmd, q.quant);
  add_observer_options(cmd, q.observer);
  add_attention_option(cmd, q.attention);
  cmd.add_option("--calib_batch_size", q.calib_batch_size, "Sequences per calibration forward")->capture_default_str()
      ->check(integer_in(1, 1 << 16));
  add_max_length_option(cmd, q.eval.max_length);
  add_batch_size_option(cmd, q.eval.batch_size);
  add_max_samples_option(cmd, q.max_samples);
  add_seed_option(cmd, q.seed, "Seed of the calibration subsets");
  add_threads_option(cmd, o->threads);
  add_run_output_flags(cmd, o->outputs, kind + ".json");
}

void run_experiment(PtqCommandOptions& o, const std::string& kind,
                    PtqExperimentResult (*experiment)(const PtqExperimentRequest&)) {
  check_run_outputs(o.outputs);
  PtqExperimentRequest q = o.request;
  for (const std::string& name : o.observers) q.observers.push_back(parse_observer(name));
  const PtqExperimentResult r = experiment(q);
  std::vector<std::string> warnings = r.warnings;
  for (const PtqVariant& v : r.variants) {
    warnings.insert(warnings.end(), v.quantize_warnings.begin(), v.quantize_warnings.end());
    warnings.insert(warnings.end(), v.eval.warnings.begin(), v.eval.warnings.end());
  }
  print_warnings(warnings);
  write_file_atomic(q.output_dir + "/" + kind + ".json", ptq_experiment_json(r, kind).dump(2) + "\n");
  if (summary_on_stdout(o.outputs)) write_stdout(ptq_experiment_table(r));
  write_run_outputs(o.outputs, q.output_dir, kind + ".json");
}

}  // namespace

void add_ptq_compare_command(CLI::App& app) {
  auto o = std::make_shared<PtqCommandOptions>();
  CLI::App* cmd = app.add_subcommand("ptq-compare", "fp32 vs dynamic W8A32 vs static W8A8 on a task's evaluation split");
  add_experiment_options(*cmd, o, "ptq_compare");
  cmd->add_option_function<int64_t>(
         "--calib_size", [o](int64_t n) { o->request.calib_sizes = {n}; },
         "Calibration examples from the train split (default 500)")
      ->check(integer_in(1));
  cmd->callback(command(&o->threads, [o] { run_experiment(*o, "ptq_compare", run_ptq_compare); }));
}

void add_calib_ablation_command(CLI::App& app) {
  auto o = std::make_shared<PtqCommandOptions>();
  CLI::App* cmd = app.add_subcommand("calib-ablation", "Static W8A8 accuracy and quantization time per calibration size");
  add_experiment_options(*cmd, o, "calib_ablation");
  cmd->add_option("--calib_sizes", o->request.calib_sizes, "Calibration sizes to sweep (e.g. 100 500 2000)")
      ->capture_default_str()->check(integer_in(1));
  cmd->add_option("--observers", o->observers, "Observers to sweep in the same run (default: --observer)")
      ->check(one_of({"minmax", "moving_average", "percentile", "mse", "entropy"}));
  cmd->callback(command(&o->threads, [o, cmd] {
    refuse_given(*cmd, "--observer", !o->observers.empty(), "is one observer; --observers sweeps them: list it there");
    run_experiment(*o, "calib_ablation", run_calib_ablation);
  }));
}

}  // namespace squish::cli
