// Each subcommand declares its options once (an options struct with defaults and help text) and
// registers itself on the app; its callback only calls library functions.
#pragma once

#include <CLI/CLI.hpp>

namespace squish::cli {

void add_eval_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_inspect_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_export_command(CLI::App& app);

// --threads, shared by every subcommand that computes: 0 (the default) = all cores.
void add_threads_option(CLI::App& cmd, int& threads);

}  // namespace squish::cli
