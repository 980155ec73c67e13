// Runs test code with stdout redirected, in a forked child, so that a failing stdout (/dev/full) or a
// stdio buffer left holding unwritten bytes cannot touch the test binary's own output.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>

namespace squish::test {

// Forks; the child points stdout at `fd`, runs `body` and exits with its return value (99 when it
// throws something unexpected). Returns the child's exit status, or -1 when it did not exit normally.
inline int exit_status_with_stdout(int fd, const std::function<int()>& body) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fd, STDOUT_FILENO);
    int code = 99;
    try {
      code = body();
    } catch (...) {
    }
    ::_exit(code);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

}  // namespace squish::test
