#include "core/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>

#include "core/checked_stdout.h"
#include "core/communicator.h"
#include "core/error.h"
#include "core/interrupt.h"

namespace squish {
namespace {

// The kernel's own bound on a symlink chain (ELOOP); a cycle must end in an error, not a hang.
constexpr int kMaxSymlinkHops = 40;

std::string where(const OutputPath& o) {
  std::string s = o.flag.empty() ? o.given : o.flag + " " + o.given;
  if (o.target != o.given) s += " (-> " + o.target + ")";
  return s;
}

[[noreturn]] void fail(const OutputPath& o, const std::string& what) { throw IoError(where(o) + ": " + what); }

std::string errno_text() { return std::strerror(errno); }

std::string directory_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string file_name_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Follows symlinks in the last component only (directories on the way are resolved by the kernel as
// usual); unlike realpath() it also follows a dangling link, whose target the write will create.
std::string follow_symlinks(OutputPath& o) {
  std::string current = o.given;
  for (int hop = 0; hop <= kMaxSymlinkHops; ++hop) {
    struct stat st {};
    if (::lstat(current.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return current;
    char buf[PATH_MAX];
    const ssize_t n = ::readlink(current.c_str(), buf, sizeof buf);
    if (n < 0) fail(o, "cannot read symlink " + current + ": " + errno_text());
    if (static_cast<size_t>(n) == sizeof buf) fail(o, "symlink " + current + " has a target longer than PATH_MAX");
    std::string link_target(buf, static_cast<size_t>(n));
    current = link_target.starts_with('/') ? link_target : directory_of(current) + "/" + link_target;
  }
  fail(o, "more than " + std::to_string(kMaxSymlinkHops) + " levels of symlinks (a cycle?)");
}

std::string temporary_name(const std::string& target) {
  static std::atomic<unsigned> counter{0};
  return directory_of(target) + "/." + file_name_of(target) + ".tmp." + std::to_string(::getpid()) + "." +
         std::to_string(counter++);
}

// Creates a new file beside `target`; O_EXCL so a stale or foreign file of that name is never reused.
int create_temporary(const OutputPath& o, std::string& name) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    name = temporary_name(o.target);
    const int fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return fd;
    if (errno != EEXIST) fail(o, "cannot create a file in directory " + directory_of(o.target) + ": " + errno_text());
  }
  fail(o, "cannot find an unused temporary name in directory " + directory_of(o.target));
}

void check_directory(const OutputPath& o) {
  const std::string dir = directory_of(o.target);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) fail(o, "directory " + dir + " does not exist");
    fail(o, "directory " + dir + ": " + errno_text());
  }
  if (!S_ISDIR(st.st_mode)) fail(o, dir + " is not a directory");
  // access() would say yes to root on a 0555 directory and cannot see /proc refusing new files;
  // creating the temporary file the write will need is the one test that answers for everyone.
  std::string probe;
  const int fd = create_temporary(o, probe);
  ::close(fd);
  ::unlink(probe.c_str());
}

void write_all(const OutputPath& o, int fd, std::string_view contents, const std::string& file) {
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(o, "write to " + file + " failed after " + std::to_string(done) + " of " + std::to_string(contents.size()) +
                  " bytes: " + errno_text());
    }
    done += static_cast<size_t>(n);
  }
}

// Removes the temporary file on every path out of write_replacing except a successful rename, and
// on an interrupt (core/interrupt.h).
class TemporaryFile {
 public:
  explicit TemporaryFile(std::string name) : name_(std::move(name)), interrupt_cleanup_(name_) {}
  ~TemporaryFile() {
    if (!name_.empty()) ::unlink(name_.c_str());
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  // rename(2) into `target`; false with errno set when it fails.
  bool rename_to(const std::string& target) {
    bool renamed = false;
    interrupt_cleanup_.publish([&] { renamed = ::rename(name_.c_str(), target.c_str()) == 0; });
    if (renamed) name_.clear();
    return renamed;
  }

 private:
  std::string name_;
  InterruptCleanup interrupt_cleanup_;
};

void write_replacing(const OutputPath& o, std::string_view contents) {
  std::string name;
  const int fd = create_temporary(o, name);
  TemporaryFile tmp(name);
  try {
    // An existing file keeps its permission bits (a 0644 report stays readable by the group); a new
    // one gets 0666 minus the umask, as the open above created it.
    struct stat old {};
    if (::stat(o.target.c_str(), &old) == 0 && ::fchmod(fd, old.st_mode & 07777) != 0)
      fail(o, "cannot copy the permissions of " + o.target + " to " + name + ": " + errno_text());
    write_all(o, fd, contents, name);
    // Without fsync a crash soon after the rename can leave the new name pointing at an empty file.
    if (::fsync(fd) != 0) fail(o, "flushing " + name + " to disk failed: " + errno_text());
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) fail(o, "closing " + name + " failed: " + errno_text());
  if (!tmp.rename_to(o.target)) fail(o, "cannot rename " + name + " to " + o.target + ": " + errno_text());
}

void write_through(const OutputPath& o, std::string_view contents) {
  // A FIFO blocks here until a reader opens it, as a shell redirection would.
  const int fd = ::open(o.target.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail(o, "cannot open for writing: " + errno_text());
  try {
    write_all(o, fd, contents, o.target);
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) fail(o, "closing failed: " + errno_text());
}

}  // namespace

OutputPath check_output_path(const std::string& path, const std::string& flag_name) {
  if (path.empty()) throw UsageError(flag_name + ": expected a file path or - for stdout, found an empty string");
  OutputPath o{flag_name, path, path, OutputKind::kStdout};
  if (path == "-") return o;
  if (path.back() == '/') fail(o, "expected a file name, found a directory path (ends in /)");
  o.target = follow_symlinks(o);

  struct stat st {};
  if (::stat(o.target.c_str(), &st) != 0) {
    // ENOTDIR: a directory on the way is a file; check_directory says which one when it is the parent.
    if (errno != ENOENT && errno != ENOTDIR) fail(o, errno_text());
    o.kind = OutputKind::kReplace;
    check_directory(o);
    return o;
  }
  if (S_ISDIR(st.st_mode)) fail(o, "is a directory, expected a file");
  if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
    o.kind = OutputKind::kStream;
    if (::access(o.target.c_str(), W_OK) != 0) fail(o, "not writable: " + errno_text());
    return o;
  }
  if (!S_ISREG(st.st_mode))
    fail(o, std::string("is a ") + (S_ISSOCK(st.st_mode) ? "socket" : S_ISBLK(st.st_mode) ? "block device" : "special file") +
                ", expected a regular file, a character device or a FIFO");
  o.kind = OutputKind::kReplace;
  // Replacing by rename would succeed on a read-only file; refuse it as a shell's ">" would.
  if (::access(o.target.c_str(), W_OK) != 0) fail(o, "file is not writable: " + errno_text());
  check_directory(o);
  return o;
}

void write_output(const OutputPath& output, std::string_view contents) {
  if (is_output_rank()) write_output_here(output, contents);  // every rank computed the same contents
}

void write_output_here(const OutputPath& output, std::string_view contents) {
  switch (output.kind) {
    case OutputKind::kStdout:
      try {
        write_stdout(contents);
        flush_stdout();
      } catch (const IoError& e) {
        fail(output, e.what());
      }
      return;
    case OutputKind::kStream:
      write_through(output, contents);
      return;
    case OutputKind::kReplace:
      write_replacing(output, contents);
      return;
  }
}

void refuse_output_over_inputs(const OutputPath& output, const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  if (output.kind != OutputKind::kReplace) return;
  std::error_code ec;
  if (!fs::exists(output.target, ec)) return;  // a new file replaces nothing
  const fs::path folder = directory_of(output.target);
  const bool run_document = fs::path(output.target).extension() == ".json";
  for (const std::string& input : inputs) {
    const bool same_file = fs::equivalent(output.target, input, ec);
    const bool inside_run = run_document && fs::is_directory(input, ec) && fs::equivalent(folder, input, ec);
    if (same_file || inside_run)
      throw UsageError(where(output) + ": that is " + (same_file ? "the input " : "a document of the input run ") +
                       input + "; write the output elsewhere");
  }
}

void write_output_file(const std::string& path, const std::string& flag_name, std::string_view contents) {
  write_output(check_output_path(path, flag_name), contents);
}

}  // namespace squish
