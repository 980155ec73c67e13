// The fine-tuning flags `squish train` and `squish prune` share, named as HF TrainingArguments
// names them (--lr for learning_rate), each declared once.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "train/trainer.h"

namespace squish::cli {

// --lr, --batch_size, --weight_decay, --warmup_ratio, --max_grad_norm, --seed, --no_dropout,
// --max_steps, --eval_steps.
void add_trainer_options(CLI::App& cmd, TrainerOptions& o);
// --task, --data_dir, --max_length, --max_train_samples, --max_eval_samples, --save_dtype.
void add_training_data_options(CLI::App& cmd, std::string& task, std::string& data_dir, int& max_length,
                               int64_t& max_train_samples, int64_t& max_eval_samples, std::string& save_dtype);

}  // namespace squish::cli
