// Each subcommand declares its options once (a library request struct with its defaults, bound to
// the shared flags in cli/options.h) and registers itself on the app; its callback only calls
// library functions.
#pragma once

#include <CLI/CLI.hpp>

namespace squish::cli {

void add_eval_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_inspect_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_ptq_compare_command(CLI::App& app);
void add_calib_ablation_command(CLI::App& app);
void add_sensitivity_command(CLI::App& app);
void add_allocate_command(CLI::App& app);
void add_mixed_precision_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_prune_command(CLI::App& app);
void add_compare_command(CLI::App& app);
void add_glue_score_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_perplexity_command(CLI::App& app);

}  // namespace squish::cli
