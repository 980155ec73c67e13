// squish eval: accuracy, precision, recall, F1, the task's metric, size and speed of a classifier
// on a real data set; acc and acc_norm of a causal LM on HellaSwag.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/run_outputs.h"
#include "core/checked_stdout.h"
#include "core/communicator.h"
#include "core/error.h"
#include "core/output_file.h"
#include "core/threads.h"
#include "eval/eval_pipeline.h"
#include "eval/hellaswag_eval.h"
#include "eval/run_header.h"
#include "io/tokenizer/tokenizer.h"
#include "model/load_model.h"
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

nlohmann::ordered_json hellaswag_json(const HellaswagRun& run, const EvalRequest& q) {
  const MultipleChoiceResult& r = run.scores;
  nlohmann::ordered_json j = run_header("hellaswag", 1);
  j["request"] = {{"model_dir", q.model_dir},     {"task", "hellaswag"}, {"data_file", run.data_file},
                  {"max_samples", q.max_samples}, {"seed", q.seed},      {"batch_size", q.options.batch_size}};
  j["model"] = {{"weights_file", run.result.model_source}, {"architecture", run.result.architecture}};
  j["items"] = r.items.size();
  j["labeled_items"] = r.labeled;
  j["acc"] = r.acc;
  j["acc_stderr"] = r.acc_stderr;
  j["acc_norm"] = r.acc_norm;
  j["acc_norm_stderr"] = r.acc_norm_stderr;
  j["tokens"] = {{"forwarded", r.forwarded_tokens}, {"one_sequence_per_ending", r.harness_tokens}};
  j["timing"] = {{"seconds", r.seconds},
                 {"items_per_second", r.seconds > 0 ? static_cast<double>(r.items.size()) / r.seconds : 0.0},
                 {"threads", num_threads()},
                 {"processes", world().size()}};
  return j;
}

// HellaSwag: the whole validation file unless --data_file names another; --max_samples takes a
// seeded subset of the items as it does of a classification split.
void run_hellaswag(const EvalCommandOptions& o) {
  const auto output = checked(o.output, "--output"), predictions = checked(o.predictions, "--predictions");
  const HellaswagRun run = run_hellaswag_eval(o.request);
  const MultipleChoiceResult& r = run.scores;
  const nlohmann::ordered_json json = hellaswag_json(run, o.request);
  const bool table_on_stdout =
      !(output && output->kind == OutputKind::kStdout) && !(predictions && predictions->kind == OutputKind::kStdout);
  if (table_on_stdout)
    write_stdout(
        fmt::format("hellaswag  {} items  acc {:.4f} ± {:.4f}  acc_norm {:.4f} ± {:.4f}  "
                    "({:.1f} s, {:.2f} items/s)\n",
                    r.items.size(), r.acc, r.acc_stderr, r.acc_norm, r.acc_norm_stderr, r.seconds,
                    json["timing"]["items_per_second"].get<double>()));
  if (output) write_output(*output, json.dump(2) + "\n");
  if (predictions) write_output(*predictions, hellaswag_predictions_jsonl(run));
}

void run_eval_command(const EvalCommandOptions& o) {
  if (o.request.task == "hellaswag") return run_hellaswag(o);
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
  CLI::App* cmd =
      app.add_subcommand("eval", "Evaluate a classifier on SST-2, MRPC or IMDB, or a causal LM on HellaSwag");
  add_model_dir_option(*cmd, q.model_dir, "HF model directory (config.json, vocab.txt, weights)");
  add_data_options(*cmd, q.task, q.split, q.data_dir);
  cmd->add_option("--data_file", o->request.data_file,
                  "HellaSwag JSONL (original or lm-eval form) instead of the shared validation file");
  add_max_length_option(*cmd, q.options.max_length);
  add_batch_size_option(*cmd, q.options.batch_size);
  add_max_samples_option(*cmd, q.max_samples);
  add_seed_option(*cmd, q.seed, "Seed of the --max_samples subset");
  add_threads_option(*cmd, o->threads);
  add_output_option(*cmd, "--output", o->output, "Write the results as JSON here");
  add_output_option(*cmd, "--predictions", o->predictions, "Write one JSON line per example here");
  add_report_flag(*cmd, o->report);
  cmd->callback(command(&o->threads, [o, cmd] {
    const bool hellaswag = o->request.task == "hellaswag";
    refuse_given(*cmd, "--data_file", !hellaswag, "is read for --task hellaswag; classification tasks read --data_dir");
    refuse_given(*cmd, "--max_length", hellaswag,
                 "does not apply to hellaswag: items are scored whole, as the harness does");
    refuse_given(*cmd, "--report", hellaswag, "is not written for hellaswag yet; --output gives the results JSON");
    if (hellaswag && !cmd->count("--batch_size")) o->request.options.batch_size = MultipleChoiceOptions{}.batch_size;
    run_eval_command(*o);
  }));
}

}  // namespace squish::cli
