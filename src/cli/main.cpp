// squish's entry point: parses the subcommand and maps every error to a message on stderr and a
// distinct exit code (core/error.h). Nothing below main() exits the process.
#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "cli/arguments.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/threads.h"
#include "core/version.h"

namespace {

int usage_error(const std::string& message, const std::string& command) {
  std::fprintf(stderr, "squish: error: %s\n", message.c_str());
  std::fprintf(stderr, "Run 'squish %s--help' for usage.\n", command.empty() ? "" : (command + " ").c_str());
  return static_cast<int>(squish::ExitCode::kUsage);
}

}  // namespace

int main(int argc, char** argv) {
  squish::configure_threading(argv);  // may re-execute squish once, so before anything else happens
  squish::install_interrupt_cleanup();  // before any other thread exists: they inherit its signal mask
  CLI::App app{"squish: make BERT-style text models small and fast, and prove it on real benchmarks"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "squish " + std::string(squish::kVersion));
  squish::cli::add_eval_command(app);
  squish::cli::add_perplexity_command(app);
  squish::cli::add_tokenize_command(app);
  squish::cli::add_inspect_command(app);
  squish::cli::add_bench_command(app);
  squish::cli::add_export_command(app);
  squish::cli::add_quantize_command(app);
  squish::cli::add_ptq_compare_command(app);
  squish::cli::add_calib_ablation_command(app);
  squish::cli::add_sensitivity_command(app);
  squish::cli::add_allocate_command(app);
  squish::cli::add_mixed_precision_command(app);
  squish::cli::add_train_command(app);
  squish::cli::add_prune_command(app);
  squish::cli::add_compare_command(app);
  squish::cli::add_glue_score_command(app);
  squish::cli::add_report_command(app);

  std::vector<std::string> args = squish::cli::normalize_flag_spellings(argc, argv);
  std::vector<char*> normalized;
  for (auto& a : args) normalized.push_back(a.data());
  const std::string command = args.size() > 1 && args[1].rfind("-", 0) != 0 ? args[1] : "";
  try {
    if (const std::string unknown = squish::cli::unknown_name_error(app, args); !unknown.empty())
      return usage_error(unknown, unknown.rfind("unknown command", 0) == 0 ? "" : command);
    app.parse(static_cast<int>(normalized.size()), normalized.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::RequiredError& e) {
    if (command.empty()) return usage_error("a command is required: eval, tokenize, inspect, bench or export", "");
    return usage_error(command + ": " + e.what(), command);
  } catch (const CLI::ParseError& e) {
    return usage_error((command.empty() ? "" : command + ": ") + e.what(), command);
  } catch (const squish::Error& e) {
    std::fprintf(stderr, "squish: error: %s\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "squish: error: out of memory\n");
    return static_cast<int>(squish::ExitCode::kInternal);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "squish: internal error (a bug, please report it): %s\n", e.what());
    return static_cast<int>(squish::ExitCode::kInternal);
  }
  return 0;
}
