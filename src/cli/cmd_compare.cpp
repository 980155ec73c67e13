// squish compare: where a compressed model disagrees with its reference (FP32) on the same examples
// (a classifier's predictions, or a causal LM's HellaSwag choices): breakdown, agreement,
// confidences, drift and the most confident flips, as OUT/compare.json and a table.
#include <memory>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/run_outputs.h"
#include "core/checked_stdout.h"
#include "eval/compare_pipeline.h"
#include "eval/compare_report.h"
#include "eval/multiple_choice.h"

namespace squish::cli {

namespace {

struct CompareCommandOptions {
  CompareRequest request;
  RunOutputs outputs;
  int threads = 0;
};

}  // namespace

void add_compare_command(CLI::App& app) {
  // Owned by the callback, which outlives this function: the flags are bound to its fields.
  auto o = std::make_shared<CompareCommandOptions>();
  CompareRequest* q = &o->request;
  CLI::App* cmd = app.add_subcommand("compare", "Error analysis of a compressed model against its FP32 reference");
  auto* reference = cmd->add_option("--reference", q->reference_dir, "Reference (FP32) model directory");
  auto* model = cmd->add_option("--model", q->model_dir, "Compressed model directory");
  auto* reference_predictions = cmd->add_option("--reference_predictions", q->reference_predictions,
                                                "Reference predictions (squish eval --predictions) instead of --reference");
  auto* model_predictions = cmd->add_option("--model_predictions", q->model_predictions,
                                            "Compressed predictions (squish eval --predictions) instead of --model");
  for (auto* dir : {reference, model})
    for (auto* file : {reference_predictions, model_predictions}) dir->excludes(file);
  add_task_option(*cmd, q->task, std::nullopt, "with predictions files optional, gives the texts");
  cmd->add_option("--split", q->split, "dev | test | train (default dev; imdb: test)")
      ->check(one_of({"dev", "test", "train"}));
  cmd->add_option("--data_dir", q->data_dir, "Folder holding glue/, imdb/ and hellaswag/")->capture_default_str();
  cmd->add_option("--data_file", q->data_file,
                  "HellaSwag items (JSONL, .gz read too); default: the lm-eval file under --data_dir");
  add_max_length_option(*cmd, q->options.max_length);
  add_batch_size_option(*cmd, q->options.batch_size);
  add_max_samples_option(*cmd, q->max_samples);
  add_seed_option(*cmd, q->seed, "Seed of the --max_samples subset");
  cmd->add_option("--histogram_bins", q->analysis.histogram_bins, "Confidence histogram bins over [1/classes, 1]")
      ->capture_default_str()->check(integer_in(1, 1000));
  cmd->add_option("--examples", q->analysis.examples_per_outcome, "Representative examples kept per outcome")
      ->capture_default_str()->check(integer_in(0, 100000));
  add_output_dir_option(*cmd, q->output_dir, "Folder for compare.json (must not exist or be empty)");
  add_run_output_flags(*cmd, o->outputs, "compare.json");
  add_threads_option(*cmd, o->threads);
  cmd->callback(command(&o->threads, [o, cmd] {
    const bool hellaswag = o->request.task == "hellaswag";
    refuse_given(*cmd, "--max_length", hellaswag,
                 "does not apply to hellaswag: items are scored whole, as the harness does");
    if (hellaswag && !cmd->count("--batch_size")) o->request.options.batch_size = MultipleChoiceOptions{}.batch_size;
    check_run_outputs(o->outputs);
    const CompareResult r = run_compare(o->request);
    print_warnings(r.warnings);
    if (summary_on_stdout(o->outputs)) write_stdout(compare_table(r));
    write_run_outputs(o->outputs, o->request.output_dir, "compare.json");
  }));
}

}  // namespace squish::cli
