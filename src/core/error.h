// squish's one error hierarchy. Library code throws these; only the CLI's main() turns them into a
// message and an exit code (no exit() deep in the library). Each error carries where it happened
// (file, line, tensor) in its message, written by the thrower as "<where>: <what was expected>, found <what>".
#pragma once

#include <stdexcept>
#include <string>

namespace squish {

// Exit codes of the CLI, one per error kind, so scripts can tell a bad flag from a broken file.
enum class ExitCode : int {
  kOk = 0,
  kInternal = 1,
  kUsage = 2,     // bad flags or arguments
  kIo = 3,        // a file missing or unreadable, a write that failed
  kFormat = 4,    // bytes that do not parse: safetensors, pickle, zip, TSV, JSON
  kShape = 5,     // a tensor of the wrong shape, a missing tensor
  kConfig = 6,    // an unknown architecture or an impossible config
  kData = 7,      // a data set that does not match what is documented (counts, labels)
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

struct UsageError : Error {
  explicit UsageError(const std::string& m) : Error(ExitCode::kUsage, m) {}
};
struct IoError : Error {
  explicit IoError(const std::string& m) : Error(ExitCode::kIo, m) {}
};
struct FormatError : Error {
  explicit FormatError(const std::string& m) : Error(ExitCode::kFormat, m) {}
};
struct ShapeError : Error {
  explicit ShapeError(const std::string& m) : Error(ExitCode::kShape, m) {}
};
struct ConfigError : Error {
  explicit ConfigError(const std::string& m) : Error(ExitCode::kConfig, m) {}
};
struct DataError : Error {
  explicit DataError(const std::string& m) : Error(ExitCode::kData, m) {}
};

}  // namespace squish
