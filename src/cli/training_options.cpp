#include "cli/training_options.h"

#include "cli/options.h"

namespace squish::cli {

void add_trainer_options(CLI::App& cmd, TrainerOptions& o) {
  // HF Trainer's spellings are accepted beside squish's shorter ones.
  cmd.add_option("--lr,--learning_rate", o.lr, "Peak learning rate (AdamW)")
      ->capture_default_str()
      ->check(real_in(1e-12, 1.0));
  add_batch_size_option(cmd, o.batch_size, ",--per_device_train_batch_size");
  cmd.add_option("--weight_decay", o.weight_decay, "AdamW's decoupled weight decay (none on biases and LayerNorm)")
      ->capture_default_str()->check(real_in(0.0, 1.0));
  cmd.add_option("--warmup_ratio", o.warmup_ratio, "Share of the steps with a linear warm-up, then linear decay to 0")
      ->capture_default_str()->check(real_in(0.0, 1.0));
  cmd.add_option("--max_grad_norm", o.max_grad_norm, "Clip gradients to this global L2 norm")
      ->capture_default_str()->check(real_in(1e-6, 1e6));
  add_seed_option(cmd, o.seed, "Seed of the batches, dropout, a new head and data subsets");
  cmd.add_flag("--no_dropout{false}", o.dropout, "Train without dropout (default: the config's rates)");
  cmd.add_option("--max_steps", o.max_steps, "Stop after this many optimizer steps (-1 = all epochs)")
      ->capture_default_str()->check(integer_in(-1));
  cmd.add_option("--eval_steps", o.eval_steps, "Evaluate on the dev split every N steps (0 = after each epoch)")
      ->capture_default_str()->check(integer_in(0));
}

void add_training_data_options(CLI::App& cmd, std::string& task, std::string& data_dir, int& max_length,
                               int64_t& max_train_samples, int64_t& max_eval_samples, std::string& save_dtype) {
  add_task_option(cmd, task, TaskKind::kClassification, "")->required();
  cmd.add_option("--data_dir", data_dir, "Folder holding glue/ and imdb/")->capture_default_str();
  add_max_length_option(cmd, max_length);
  cmd.add_option("--max_train_samples", max_train_samples, "Fine-tune on a seeded subset of this size (0 = all)")
      ->capture_default_str()->check(integer_in(0));
  cmd.add_option("--max_eval_samples", max_eval_samples,
                 "Evaluate on a seeded subset of this size (0 = the dev split; IMDB: 2,000 test reviews)")
      ->capture_default_str()
      ->check(integer_in(0));
  cmd.add_option("--save_dtype,--dtype", save_dtype, "Weights of the saved (dense) model: f32 | f16")
      ->capture_default_str()
      ->check(one_of({"f32", "f16"}));
}

}  // namespace squish::cli
