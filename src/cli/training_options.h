// The fine-tuning flags `squish train` and `squish prune` share, named as HF TrainingArguments
// names them (--lr for learning_rate), each declared once.
#pragma once

#include <CLI/CLI.hpp>

#include "train/trainer.h"

namespace squish::cli {

// --lr, --batch_size, --weight_decay, --warmup_ratio, --max_grad_norm, --seed, --no_dropout,
// --max_steps, --eval_steps.
void add_trainer_options(CLI::App& cmd, TrainerOptions& o);
// A real number in [lo, hi].
CLI::Validator real_in(double lo, double hi);

}  // namespace squish::cli
