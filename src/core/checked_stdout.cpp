#include "core/checked_stdout.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "core/error.h"

namespace squish {

void write_stdout(std::string_view text) {
  if (text.empty()) return;
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size())
    throw IoError(std::string("stdout: write failed: ") + std::strerror(errno));
}

void flush_stdout() {
  std::cout.flush();
  errno = 0;
  if (std::fflush(stdout) != 0) throw IoError(std::string("stdout: write failed: ") + std::strerror(errno));
  // ferror is sticky: it also reports a failed flush that stdio did on its own when its buffer filled
  // during an earlier printf, whose return value nobody checked.
  if (std::ferror(stdout) || std::cout.fail()) throw IoError("stdout: an earlier write failed (output is incomplete)");
  // stdout stays open for the rest of the process, but some file systems (NFS, FUSE) report a failed
  // write only when a descriptor of the file is closed; closing a duplicate asks them without
  // closing stdout itself.
  const int dup_fd = ::dup(STDOUT_FILENO);
  if (dup_fd >= 0 && ::close(dup_fd) != 0 && errno != EINTR)
    throw IoError(std::string("stdout: write failed when closing: ") + std::strerror(errno));
}

}  // namespace squish
