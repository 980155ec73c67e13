// squish eval: accuracy, precision, recall, F1, the GLUE metric, size and speed of a classifier on
// a real data set.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "core/file_util.h"
#include "core/threads.h"
#include "eval/runner.h"
#include "io/datasets/dataset.h"
#include "io/tokenizer/wordpiece.h"
#include "model/bert/bert_checkpoint.h"
#include "report/eval_report.h"

namespace squish::cli {
namespace {

struct EvalCommandOptions {
  std::string model_dir;
  std::string task;
  std::string split = "dev";
  std::string data_dir = "../shared/data";
  int max_length = 128;
  int batch_size = 32;
  int64_t max_samples = 0;
  uint64_t seed = 42;
  int threads = 0;
  std::string output;
  std::string predictions;
};

void run_eval(const EvalCommandOptions& o) {
  set_num_threads(o.threads);
  const Task task = parse_task(o.task);
  const Dataset data = take_subset(load_dataset(task, parse_split(o.split), o.data_dir), o.max_samples, o.seed);
  const WordPieceTokenizer tokenizer = WordPieceTokenizer::from_model_dir(o.model_dir);
  const BertModel model = load_bert_model(o.model_dir);
  EvalOptions eo;
  eo.max_length = o.max_length;
  eo.batch_size = o.batch_size;
  const EvalResult r = evaluate(model, tokenizer, data, eo);
  std::fputs(eval_result_table(r).c_str(), stdout);
  if (!o.output.empty()) {
    nlohmann::json j = eval_result_json(r);
    j["options"] = {{"max_length", o.max_length}, {"batch_size", o.batch_size}, {"max_samples", o.max_samples},
                    {"seed", o.seed}, {"model_dir", o.model_dir}};
    write_file_atomic(o.output, j.dump(2) + "\n");
  }
  if (!o.predictions.empty()) write_file_atomic(o.predictions, predictions_jsonl(r));
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalCommandOptions>();
  CLI::App* cmd = app.add_subcommand("eval", "Evaluate a classifier on SST-2, MRPC or IMDB");
  cmd->add_option("--model_dir", o->model_dir, "HF model directory (config.json, vocab.txt, weights)")->required();
  cmd->add_option("--task", o->task, "sst2 | mrpc | imdb")->required();
  cmd->add_option("--split", o->split, "dev | test | train (imdb: test | train)")->capture_default_str();
  cmd->add_option("--data_dir", o->data_dir, "Folder holding glue/ and imdb/")->capture_default_str();
  cmd->add_option("--max_length", o->max_length, "Truncate token sequences to this length")->capture_default_str();
  cmd->add_option("--batch_size", o->batch_size, "Sequences per forward pass")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--max_samples", o->max_samples, "Evaluate a seeded random subset of this size (0 = all)")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the subset")->capture_default_str();
  add_threads_option(*cmd, o->threads);
  cmd->add_option("--output", o->output, "Write the results as JSON here");
  cmd->add_option("--predictions", o->predictions, "Write one JSON line per example here");
  cmd->callback([o] { run_eval(*o); });
}

}  // namespace squish::cli
