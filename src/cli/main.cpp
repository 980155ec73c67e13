// squish's entry point: parses the subcommand and maps every error to a message on stderr and a
// distinct exit code (core/error.h). Nothing below main() exits the process. Under an MPI launcher
// every rank runs the same command (docs/distributed.md); a failing rank ends them all.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "cli/arguments.h"
#include "cli/commands.h"
#include "core/communicator.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/threads.h"
#include "core/version.h"
#ifdef SQUISH_WITH_MPI
#include "mpi/mpi_world.h"
#endif

namespace {

struct Outcome {
  int exit_code = 0;
  std::string message;  // for stderr, each line starting "squish: "
};

Outcome usage_error(const std::string& message, const std::string& command) {
  return {
      static_cast<int>(squish::ExitCode::kUsage),
      "squish: error: " + message + "\nRun 'squish " + (command.empty() ? "" : command + " ") + "--help' for usage.\n"};
}

Outcome error(squish::ExitCode code, const std::string& message) {
  return {static_cast<int>(code), "squish: " + message + "\n"};
}

// One process: the message and the code. Several: the failing rank ends the run for every rank
// (a peer may be waiting in a collective it will never join). Ranks usually fail together (a bad
// flag, a missing file), so each waits half a second per rank below it before it speaks: the lowest
// failing rank's message is the one the user reads, and its abort takes the others down first.
int finish(const Outcome& outcome) {
  squish::Communicator& world = squish::world();
  if (outcome.exit_code == 0) return 0;
  if (world.size() == 1) {
    std::fputs(outcome.message.c_str(), stderr);
    return outcome.exit_code;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500) * std::min(world.rank(), 6));
  const std::string rank = "[rank " + std::to_string(world.rank()) + " of " + std::to_string(world.size()) + "] ";
  std::string message = outcome.message;
  for (size_t at = 0; (at = message.find("squish: ", at)) != std::string::npos; at += 8 + rank.size())
    message.insert(at + 8, rank);
  std::fputs(message.c_str(), stderr);
  std::fflush(stderr);
  squish::end_every_rank(outcome.exit_code);
}

Outcome run(CLI::App& app, int argc, char** argv) {
  std::vector<std::string> args = squish::cli::normalize_flag_spellings(argc, argv);
  std::vector<char*> normalized;
  for (auto& a : args) normalized.push_back(a.data());
  const std::string command = args.size() > 1 && args[1].rfind("-", 0) != 0 ? args[1] : "";
  try {
    if (const std::string unknown = squish::cli::unknown_name_error(app, args); !unknown.empty())
      return usage_error(unknown, unknown.rfind("unknown command", 0) == 0 ? "" : command);
    app.parse(static_cast<int>(normalized.size()), normalized.data());
  } catch (const CLI::CallForHelp& e) {
    return {app.exit(e), ""};
  } catch (const CLI::CallForAllHelp& e) {
    return {app.exit(e), ""};
  } catch (const CLI::CallForVersion& e) {
    return {app.exit(e), ""};
  } catch (const CLI::RequiredError& e) {
    if (command.empty()) return usage_error("a command is required: eval, tokenize, inspect, bench or export", "");
    return usage_error(command + ": " + e.what(), command);
  } catch (const CLI::ParseError& e) {
    return usage_error((command.empty() ? "" : command + ": ") + e.what(), command);
  } catch (const squish::Error& e) {
    return error(e.code(), std::string("error: ") + e.what());
  } catch (const std::bad_alloc&) {
    return error(squish::ExitCode::kInternal, "error: out of memory");
  } catch (const std::exception& e) {
    return error(squish::ExitCode::kInternal, std::string("internal error (a bug, please report it): ") + e.what());
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  squish::configure_threading(argv);  // may re-execute squish once, so before anything else happens
  squish::install_interrupt_cleanup();  // before any other thread exists: they inherit its signal mask
#ifdef SQUISH_WITH_MPI
  std::unique_ptr<squish::MpiWorld> mpi;
  try {
    mpi = squish::start_mpi_if_launched(&argc, &argv);
  } catch (const squish::Error& e) {
    return finish(error(e.code(), std::string("error: ") + e.what()));
  }
#endif
  // Every rank prints the same summary; rank 0's is the one kept.
  if (!squish::is_output_rank() && std::freopen("/dev/null", "w", stdout) == nullptr) ::close(STDOUT_FILENO);
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

  return finish(run(app, argc, argv));
}
