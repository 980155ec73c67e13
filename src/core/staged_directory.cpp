#include "core/staged_directory.h"

#include <unistd.h>

#include <filesystem>

#include "core/communicator.h"
#include "core/error.h"

namespace squish {

namespace fs = std::filesystem;

void check_new_directory(const std::string& path) {
  std::error_code ec;
  if (fs::exists(path, ec) && !(fs::is_directory(path, ec) && fs::is_empty(path, ec)))
    throw IoError(path + ": already exists and is not an empty directory; remove it or choose another --output_dir");
}

StagedDirectory::StagedDirectory(std::string final_path) : final_(std::move(final_path)) {
  while (final_.size() > 1 && final_.back() == '/') final_.pop_back();
  // Ranks other than 0 write the same files into a staging of their own (later steps read them
  // back) and never publish it; rank 0 alone checks and owns the final path.
  if (is_output_rank()) check_new_directory(final_);
  std::error_code ec;
  const fs::path parent = fs::absolute(final_, ec).parent_path();
  if (!fs::is_directory(parent, ec)) throw IoError(final_ + ": parent directory " + parent.string() + " does not exist");
  staging_ = final_ + ".tmp." + std::to_string(::getpid());
  if (!is_output_rank()) staging_ += ".rank" + std::to_string(world().rank());
  interrupt_cleanup_.emplace(staging_);
  fs::remove_all(staging_, ec);
  if (!fs::create_directory(staging_, ec))
    throw IoError(staging_ + ": cannot create: " + ec.message());
}

StagedDirectory::~StagedDirectory() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(staging_, ec);
}

void StagedDirectory::commit() {
  std::error_code ec;
  if (!is_output_rank()) {
    fs::remove_all(staging_, ec);
    committed_ = true;
    return;
  }
  interrupt_cleanup_->publish([&] {
    if (fs::is_directory(final_, ec)) fs::remove(final_, ec);  // empty, checked at construction
    fs::rename(staging_, final_, ec);
  });
  if (ec) throw IoError(final_ + ": cannot move the finished directory into place: " + ec.message());
  committed_ = true;
}

}  // namespace squish
