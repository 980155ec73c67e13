// squish train: fine-tunes a BERT encoder or classifier on SST-2, MRPC or IMDB with HF Trainer's
// recipe and saves a HF-compatible model with training.json.
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/run_outputs.h"
#include "cli/training_options.h"
#include "core/checked_stdout.h"
#include "eval/train_pipeline.h"

namespace squish::cli {
namespace {

struct TrainCommandOptions {
  TrainRequest request;
  int threads = 0;
  RunOutputs outputs;
};

std::string training_summary(const TrainRunResult& r) {
  std::string s = fmt::format("{:>8}  {:>7}  {:>10}  {:>10}\n", "step", "epoch", r.saved.metric, "loss");
  for (const EvalPoint& e : r.evals) {
    const double loss = r.train.steps.at(static_cast<size_t>(e.step - 1)).loss;
    s += fmt::format("{:>8}  {:>7.2f}  {:>10.4f}  {:>10.4f}{}\n", e.step, e.epoch, e.value, loss,
                     e.step == r.saved_step ? "  (saved)" : "");
  }
  s += fmt::format("{} steps in {:.0f} s: {:.0f} tokens/s, {:.1f} examples/s, {} threads\n", r.train.steps.size(),
                   r.train.seconds, r.train.tokens_per_second(),
                   r.train.seconds > 0 ? static_cast<double>(r.train.examples) / r.train.seconds : 0.0, r.threads);
  s += fmt::format("saved to {} (model.safetensors {:.1f} MB, training.json)\n", r.request.output_dir,
                   static_cast<double>(r.model_file_bytes) / 1e6);
  return s;
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainCommandOptions>();
  TrainRequest& q = o->request;
  CLI::App* cmd = app.add_subcommand("train", "Fine-tune a BERT encoder or classifier (AdamW, HF Trainer's recipe)");
  add_model_dir_option(*cmd, q.model_dir, "HF model directory to start from (an encoder gets a new head)");
  add_training_data_options(*cmd, q.task, q.data_dir, q.max_length, q.max_train_samples, q.max_eval_samples,
                            q.save_dtype);
  add_output_dir_option(*cmd, q.output_dir, "Folder for checkpoints, the final model and training.json");
  cmd->add_option("--epochs,--num_train_epochs", q.trainer.epochs, "Passes over the training set")
      ->capture_default_str()
      ->check(integer_in(1, 1000));
  add_trainer_options(*cmd, q.trainer);
  cmd->add_flag("--load_best_model_at_end", q.load_best_model_at_end,
                "Save the checkpoint with the best dev metric instead of the last");
  cmd->add_option("--resume_from_checkpoint", q.resume_from_checkpoint,
                  "Continue from a checkpoint-N folder of an earlier run with the same settings (a new --output_dir)");
  add_threads_option(*cmd, o->threads);
  add_run_output_flags(*cmd, o->outputs, "training.json");
  cmd->callback(command(&o->threads, [o] {
    check_run_outputs(o->outputs);
    const TrainRunResult r = run_train(o->request);
    if (summary_on_stdout(o->outputs)) write_stdout(training_summary(r));
    write_run_outputs(o->outputs, o->request.output_dir, "training.json");
  }));
}

}  // namespace squish::cli
