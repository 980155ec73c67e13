#include "test_paths.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>

namespace squish::test {

std::string shared_dir() {
  if (const char* env = std::getenv("SQUISH_SHARED_DIR")) return env;
  return SQUISH_SHARED_DIR;
}

std::string fixtures_dir() { return SQUISH_FIXTURES_DIR; }

std::string squish_binary() { return SQUISH_BINARY; }

std::string temp_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  const auto dir = std::filesystem::temp_directory_path() /
                   ("squish_test_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace squish::test
