// The flags several subcommands share, each declared once with one meaning, one default and one
// validation (docs/cli.md lists them), and the prologue/epilogue every subcommand runs through.
// Numeric flags are checked on the string the user typed, so "-1" for a seed is refused instead of
// wrapping to 18446744073709551615, and errors read "expected an integer >= 1, found 0".
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "eval/tasks.h"
#include "model/common/attention_arithmetic.h"
#include "quant/quantize_model.h"

namespace squish::cli {

// Integers in [lo, hi] (hi = INT64_MAX: no upper bound).
CLI::Validator integer_in(int64_t lo, int64_t hi = INT64_MAX);
// A real number in [lo, hi] ("expected a number in [0, 100], found -1").
CLI::Validator real_in(double lo, double hi);
// One of the listed words ("sst2 | mrpc | imdb").
CLI::Validator one_of(std::initializer_list<const char*> words);
CLI::Validator one_of(std::vector<std::string> words);
// --task, checked against eval/tasks.h's registry (every task, or one kind's); its help is `note`, then
// what each task is.
CLI::Option* add_task_option(CLI::App& cmd, std::string& task, std::optional<TaskKind> kind, const std::string& note);

CLI::Option* add_model_dir_option(CLI::App& cmd, std::string& dir, const std::string& what);
// --task, --split, --data_dir.
void add_data_options(CLI::App& cmd, std::string& task, std::string& split, std::string& data_dir);
CLI::Option* add_max_length_option(CLI::App& cmd, int& max_length);
// `aliases`: other spellings users bring, e.g. ",--per_device_train_batch_size" (HF Trainer's).
CLI::Option* add_batch_size_option(CLI::App& cmd, int& batch_size, const std::string& aliases = "");
CLI::Option* add_max_samples_option(CLI::App& cmd, int64_t& max_samples);
CLI::Option* add_seed_option(CLI::App& cmd, uint64_t& seed, const std::string& what);
// 0 (the default) = all cores; at most the machine's cores.
CLI::Option* add_threads_option(CLI::App& cmd, int& threads);
// --attention f32 | int8 for the commands that save a model (quantize, mixed-precision).
CLI::Option* add_attention_option(CLI::App& cmd, AttentionArithmetic& attention);
// A file the command writes (JSON results, predictions): checked before any work.
CLI::Option* add_output_option(CLI::App& cmd, const std::string& flag, std::string& path, const std::string& what);
CLI::Option* add_output_dir_option(CLI::App& cmd, std::string& dir, const std::string& what);

// --per_channel (the default) | --per_tensor, --quantize_head, --quantize_embeddings.
void add_quantization_options(CLI::App& cmd, QuantizeOptions& options);
// --observer, --percentile, --bins.
void add_observer_options(CLI::App& cmd, ObserverOptions& options);
// --calib_split, --calib_size, --calib_batch_size.
void add_calibration_options(CLI::App& cmd, std::string& split, int64_t& size, int& batch_size);

// UsageError "<flag> <why>" when the user gave `flag` (a default never counts) in a combination where
// it does nothing: a flag that is silently dropped looks as if it had worked.
void refuse_given(const CLI::App& cmd, const std::string& flag, bool does_nothing, const std::string& why);

// UsageError under an MPI launcher with more than one process, for a command that is not data-parallel
// (yet): every rank would redo the whole run (prune) or time the others' load
// (bench). docs/distributed.md lists what runs distributed.
void one_process_only(const std::string& command);

// What every subcommand's callback runs: the environment checked (SQUISH_ISA), the thread count
// set, the body, then stdout flushed and checked (a full disk or closed pipe is exit 3).
std::function<void()> command(const int* threads, std::function<void()> body);

// "squish: warning: <message>" on stderr for each distinct message, in order (experiments repeat a
// setup's warnings per variant).
void print_warnings(const std::vector<std::string>& messages);

}  // namespace squish::cli
