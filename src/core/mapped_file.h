// A read-only memory map of a whole file. Checkpoints are mapped rather than read so a 400 MB model
// costs no copy until its tensors are converted, and pages the model never touches are never read.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace squish {

class MappedFile {
 public:
  // Throws IoError naming the path when the file is missing or cannot be mapped.
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const unsigned char* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const unsigned char* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace squish
