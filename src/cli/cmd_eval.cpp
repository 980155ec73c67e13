// squish eval: accuracy, precision, recall, F1, the task's metric, size and speed of a classifier
// on a real data set.
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/run_outputs.h"
#include "core/checked_stdout.h"
#include "core/output_file.h"
#include "eval/eval_pipeline.h"
#include "report/eval_report.h"

namespace squish::cli {
namespace {

struct EvalCommandOptions {
  EvalRequest request;
  int threads = 0;
  std::string output;
  std::string predictions;
  bool report = false;
};

std::optional<OutputPath> checked(const std::string& path, const char* flag) {
  if (path.empty()) return std::nullopt;
  return check_output_path(path, flag);
}

void run_eval_command(const EvalCommandOptions& o) {
  // Before the work: a typo in an output directory must not cost a whole evaluation.
  const auto output = checked(o.output, "--output"), predictions = checked(o.predictions, "--predictions");
  const std::string page = o.report ? report_path_beside(o.output) : "";
  const EvalResult r = run_eval(o.request);
  print_warnings(r.warnings);
  const bool table_on_stdout = !(output && output->kind == OutputKind::kStdout) &&
                               !(predictions && predictions->kind == OutputKind::kStdout);
  if (table_on_stdout) write_stdout(eval_result_table(r));
  if (output) write_output(*output, eval_result_json(r, o.request).dump(2) + "\n");
  if (predictions) write_output(*predictions, predictions_jsonl(r));
  for (const auto& [written, what] : {std::pair{output, "results"}, std::pair{predictions, "predictions"}})
    if (table_on_stdout && written && written->kind == OutputKind::kReplace)
      write_stdout(fmt::format("wrote {} ({})\n", written->given, what));
  if (o.report) write_run_report(o.output, page);
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalCommandOptions>();
  EvalRequest& q = o->request;
  CLI::App* cmd = app.add_subcommand("eval", "Evaluate a classifier on SST-2, MRPC or IMDB");
  add_model_dir_option(*cmd, q.model_dir, "HF model directory (config.json, vocab.txt, weights)");
  add_data_options(*cmd, q.task, q.split, q.data_dir);
  add_max_length_option(*cmd, q.options.max_length);
  add_batch_size_option(*cmd, q.options.batch_size);
  add_max_samples_option(*cmd, q.max_samples);
  add_seed_option(*cmd, q.seed, "Seed of the --max_samples subset");
  add_threads_option(*cmd, o->threads);
  add_output_option(*cmd, "--output", o->output, "Write the results as JSON here");
  add_output_option(*cmd, "--predictions", o->predictions, "Write one JSON line per example here");
  add_report_flag(*cmd, o->report);
  cmd->callback(command(&o->threads, [o] { run_eval_command(*o); }));
}

}  // namespace squish::cli
