#include "io/model_dir.h"

#include <filesystem>

#include "core/error.h"

namespace squish {

void require_model_dir(const std::string& dir) {
  std::error_code ec;
  const auto status = std::filesystem::status(dir, ec);
  if (!std::filesystem::exists(status))
    throw IoError(dir + ": no such directory (expected a HF model directory with config.json)");
  if (!std::filesystem::is_directory(status))
    throw IoError(dir + ": is a file, expected a HF model directory (config.json, vocab.txt, weights) or a GGUF file");
}

}  // namespace squish
