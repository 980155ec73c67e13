// squish eval: accuracy, precision, recall, F1, the task's metric, size and speed of a classifier
// on a real data set.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "core/file_util.h"
#include "core/threads.h"
#include "eval/eval_pipeline.h"
#include "report/eval_report.h"

namespace squish::cli {
namespace {

struct EvalCommandOptions {
  EvalRequest request;
  int threads = 0;
  std::string output;
  std::string predictions;
};

void run_eval_command(const EvalCommandOptions& o) {
  set_num_threads(o.threads);
  const EvalResult r = run_eval(o.request);
  std::fputs(eval_result_table(r).c_str(), stdout);
  if (!o.output.empty()) write_file_atomic(o.output, eval_result_json(r, o.request).dump(2) + "\n");
  if (!o.predictions.empty()) write_file_atomic(o.predictions, predictions_jsonl(r));
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalCommandOptions>();
  EvalRequest& q = o->request;
  CLI::App* cmd = app.add_subcommand("eval", "Evaluate a classifier on SST-2, MRPC or IMDB");
  cmd->add_option("--model_dir", q.model_dir, "HF model directory (config.json, vocab.txt, weights)")->required();
  cmd->add_option("--task", q.task, "sst2 | mrpc | imdb")->required();
  cmd->add_option("--split", q.split, "dev | test | train (imdb: test | train)")->capture_default_str();
  cmd->add_option("--data_dir", q.data_dir, "Folder holding glue/ and imdb/")->capture_default_str();
  cmd->add_option("--max_length", q.options.max_length, "Truncate token sequences to this length")->capture_default_str();
  cmd->add_option("--batch_size", q.options.batch_size, "Sequences per forward pass")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--max_samples", q.max_samples, "Evaluate a seeded random subset of this size (0 = all)")->capture_default_str();
  cmd->add_option("--seed", q.seed, "Seed of the subset")->capture_default_str();
  add_threads_option(*cmd, o->threads);
  cmd->add_option("--output", o->output, "Write the results as JSON here");
  cmd->add_option("--predictions", o->predictions, "Write one JSON line per example here");
  cmd->callback([o] { run_eval_command(*o); });
}

}  // namespace squish::cli
