// Runs the squish binary as a user would, for the CLI suites: arguments through a shell, stdin from
// a string, stdout, stderr and the exit code back.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/file_util.h"
#include "test_paths.h"

namespace squish::test {

struct RunResult {
  int exit_code;
  std::string out, err;
};

inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// A shell command line (a launcher such as mpirun in front of squish, for instance).
inline RunResult run_command(const std::string& command_line, const std::string& stdin_text = "") {
  const std::string dir = test::temp_dir("cli");
  std::ofstream(dir + "/in") << stdin_text;
  const std::string cmd =
      command_line + " < " + quote(dir + "/in") + " > " + quote(dir + "/out") + " 2> " + quote(dir + "/err");
  const int status = std::system(cmd.c_str());
  RunResult r{WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), read_file(dir + "/out"),
              read_file(dir + "/err")};
  std::filesystem::remove_all(dir);
  return r;
}

inline RunResult run_squish(const std::string& args, const std::string& stdin_text = "") {
  return run_command(quote(test::squish_binary()) + " " + args, stdin_text);
}

inline std::string tiny_model() { return test::shared_dir() + "/models/bert-tiny-sst2-scratch"; }
inline std::string data_dir() { return test::shared_dir() + "/data"; }

}  // namespace squish::test
