// Files that commands write where a flag says (--output, --predictions, --json). The path is checked
// before any work, so a typo in a directory name fails in milliseconds, not after an hour of eval;
// the write itself never leaves a half-written file in the target's place, and every failure is an
// IoError (exit 3) naming the flag and the path.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace squish {

// What an output path names once symlinks are followed.
enum class OutputKind {
  kStdout,   // the path "-"
  kReplace,  // a regular file or a path to create: written to a temporary file beside it, then renamed
  kStream,   // a character device (/dev/null, a terminal) or a FIFO: written straight through
};

struct OutputPath {
  std::string flag;    // "--output"; empty when the caller has no flag, and messages start with the path
  std::string given;   // the path as the user wrote it
  std::string target;  // the file that gets written: `given` with every symlink followed ("-" for stdout)
  OutputKind kind;
};

// Checks that `path` can be written, before any work: "-" is stdout; a symlink is followed (also a
// dangling one: its target is created); the target must not be a directory, a socket or a block
// device; a file to create or replace needs an existing directory in which a file can be created
// (tried, so a read-only file system or /proc fails here, for root as well).
// Throws IoError "<flag> <path>: <what is wrong>", e.g.
// "--output /nonexistent/dir/r.json: directory /nonexistent/dir does not exist";
// UsageError for an empty path.
OutputPath check_output_path(const std::string& path, const std::string& flag_name);

// UsageError "<flag> <path>: that is the input <input>; ..." when the output would replace what the
// command reads: one of the input files, or a JSON document inside an input run folder (compared
// as files, so symlinks and other spellings of a path are caught).
void refuse_output_over_inputs(const OutputPath& output, const std::vector<std::string>& inputs);

// Writes `contents` as the whole of the output. kReplace: into "<dir>/.<name>.tmp.<pid>.<n>" in the
// target's own directory, flushed to disk, then renamed over the target (a symlink stays a symlink
// and its target gets the contents; an existing file keeps its permission bits). kStream and kStdout:
// straight through. Every write, flush and close is checked; on failure throws IoError and the
// temporary file is removed, so the target holds either its old contents or the new ones.
// Ranks other than 0 of a run of several processes write nothing (core/communicator.h).
void write_output(const OutputPath& output, std::string_view contents);
// The same on every rank: for files of this process's own (what a StagedDirectory holds).
void write_output_here(const OutputPath& output, std::string_view contents);

// check_output_path + write_output, for a caller that has nothing to do in between.
void write_output_file(const std::string& path, const std::string& flag_name, std::string_view contents);

}  // namespace squish
