// Runs test code in a forked child, so that what it does to the process (stdout pointed at
// /dev/full, stdio buffers left holding unwritten bytes, a file size limit) cannot touch the test
// binary itself.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>

namespace squish::test {

// Forks; the child runs `body` and exits with its return value (99 when it throws). Returns the
// child's exit status, or -1 when it did not exit normally.
inline int exit_status_in_child(const std::function<int()>& body) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
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

// The same with the child's stdout pointed at `fd`.
inline int exit_status_with_stdout(int fd, const std::function<int()>& body) {
  return exit_status_in_child([&] {
    ::dup2(fd, STDOUT_FILENO);
    return body();
  });
}

// Everything readable from `fd` until end of file (or, on a non-blocking descriptor, until nothing is left).
inline std::string read_fd(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

}  // namespace squish::test
