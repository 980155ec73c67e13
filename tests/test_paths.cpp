#include "test_paths.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

namespace squish::test {

std::string shared_dir() {
  if (const char* env = std::getenv("SQUISH_SHARED_DIR")) return env;
  return SQUISH_SHARED_DIR;
}

std::string fixtures_dir() { return SQUISH_FIXTURES_DIR; }

std::string squish_binary() { return SQUISH_BINARY; }

std::string smollm2_gguf() {
  if (const char* env = std::getenv("SQUISH_SMOLLM2_GGUF"); env && *env) return env;
  const std::string file = "/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (const char* cache = std::getenv("SQUISH_CACHE_DIR"); cache && *cache) return cache + file;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "") + "/.cache/squish" + file;
}

namespace {

// Removes every directory temp_dir() made when the test process exits.
class TempDirs {
 public:
  ~TempDirs() {
    std::error_code ec;
    for (const auto& d : dirs_) std::filesystem::remove_all(d, ec);
  }
  void add(const std::filesystem::path& d) {
    std::lock_guard<std::mutex> lock(mutex_);
    dirs_.push_back(d);
  }

 private:
  std::mutex mutex_;
  std::vector<std::filesystem::path> dirs_;
};

}  // namespace

std::string temp_dir(const std::string& tag) {
  static TempDirs made;
  static std::atomic<int> counter{0};
  const auto dir = std::filesystem::temp_directory_path() /
                   ("squish_test_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  made.add(dir);
  return dir.string();
}

}  // namespace squish::test
