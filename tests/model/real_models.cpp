#include "model/real_models.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "core/file_util.h"
#include "model/common/architecture_name.h"
#include "test_paths.h"

namespace squish::test {

std::string model_dir(const std::string& name) { return shared_dir() + "/models/" + name; }

std::vector<std::string> classifier_models() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(shared_dir() + "/models", ec)) {
    const std::string dir = entry.path().string();
    if (!file_exists(dir + "/config.json")) continue;
    if (!file_exists(dir + "/model.safetensors") && !file_exists(dir + "/pytorch_model.bin")) continue;
    const auto config = nlohmann::json::parse(read_file(dir + "/config.json"), nullptr, false);
    if (config.is_discarded() || config.value("model_type", "") != "bert") continue;
    bool classifier = false;
    for (const auto& a : config.value("architectures", nlohmann::json::array()))
      classifier |= a.is_string() && is_sequence_classifier(a.get<std::string>());
    if (classifier) out.push_back(entry.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

nlohmann::json golden_file(const std::string& file, const std::string& script) {
  std::vector<std::string> candidates = {fixtures_dir() + "/models/" + file};
  if (const char* dir = std::getenv("SQUISH_GOLDEN_DIR")) candidates.push_back(std::string(dir) + "/" + file);
  for (const auto& path : candidates)
    if (file_exists(path)) return nlohmann::json::parse(read_maybe_gzip(path));
  throw std::runtime_error("no golden " + file + ": run python3 " + script + " --missing-only");
}

}  // namespace

nlohmann::json model_golden(const std::string& name) {
  return golden_file(name + ".json.gz", "tools/make_model_goldens.py");
}

std::string model_param_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = info.param;
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

nlohmann::json static_golden(const std::string& name) {
  return golden_file(name + ".static.json.gz", "tools/make_static_goldens.py");
}

}  // namespace squish::test
