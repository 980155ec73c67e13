// A directory written as a whole: files go into "<final>.tmp.<pid>" beside it, and commit()
// renames that into place, so an interrupted or failed run leaves no half-written model directory
// (the temporary is removed when the object dies uncommitted, or by core/interrupt.h on Ctrl-C).
// In a run of several processes only rank 0 publishes; the others' commit() removes their staging.
#pragma once

#include <optional>
#include <string>

#include "core/interrupt.h"

namespace squish {

// IoError naming `path` unless it does not exist or is an empty directory: where a run may write a
// new folder (StagedDirectory checks it; commands that create their folder in place call it first).
void check_new_directory(const std::string& path);

class StagedDirectory {
 public:
  // IoError naming the path when `final_path` exists and is not an empty directory, or when its
  // parent is missing.
  explicit StagedDirectory(std::string final_path);
  ~StagedDirectory();
  StagedDirectory(const StagedDirectory&) = delete;
  StagedDirectory& operator=(const StagedDirectory&) = delete;

  const std::string& path() const { return staging_; }  // where to write now
  std::string file(const std::string& name) const { return staging_ + "/" + name; }
  void commit();

 private:
  std::string final_, staging_;
  std::optional<InterruptCleanup> interrupt_cleanup_;
  bool committed_ = false;
};

}  // namespace squish
