// squish's entry point: parses the subcommand and maps every error to a message on stderr and a
// distinct exit code (core/error.h). Nothing below main() exits the process.
#include <cstdio>
#include <exception>
#include <new>

#include "cli/commands.h"
#include "core/error.h"
#include "core/threads.h"
#include "core/version.h"

namespace squish::cli {

void add_threads_option(CLI::App& cmd, int& threads) {
  cmd.add_option("--threads", threads, "Threads to compute with (default: all cores)")->check(CLI::NonNegativeNumber);
}

}  // namespace squish::cli

int main(int argc, char** argv) {
  CLI::App app{"squish: make BERT-style text models small and fast, and prove it on real benchmarks"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "squish " + std::string(squish::kVersion));
  squish::cli::add_eval_command(app);
  squish::cli::add_tokenize_command(app);
  squish::cli::add_inspect_command(app);
  squish::cli::add_bench_command(app);
  squish::cli::add_export_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return static_cast<int>(squish::ExitCode::kUsage);
  } catch (const squish::Error& e) {
    std::fprintf(stderr, "squish: error: %s\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "squish: error: out of memory\n");
    return static_cast<int>(squish::ExitCode::kInternal);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "squish: internal error: %s\n", e.what());
    return static_cast<int>(squish::ExitCode::kInternal);
  }
  return 0;
}
