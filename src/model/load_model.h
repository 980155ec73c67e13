// The one place that turns a model directory (or a config for random weights) into a
// SequenceModel, choosing the architecture by config.json's model_type. A new architecture
// registers here and nowhere else.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "model/common/sequence_model.h"

namespace squish {

struct LoadOptions {
  // An encoder without a classification head gets a seeded random one (for bench, which times
  // whole forwards as --config's random weights do).
  bool random_head_if_missing = false;
  uint64_t seed = 42;
};

// The GGUF file `model_dir` names: the path itself when it is a GGUF file, or the one .gguf in a
// directory without config.json; nothing for a HF model directory. IoError for an unknown file or
// a directory with several .gguf files.
std::optional<std::string> gguf_model_file(const std::string& model_dir);

// A HF model directory (config.json's model_type picks the architecture: bert, llama, opt) or a GGUF file.
std::unique_ptr<SequenceModel> load_model(const std::string& model_dir, const LoadOptions& options = {});
// UsageError "--model_dir DIR is already quantized by squish; <remedy>" for a squish container whose
// weights are quantized: the commands that need fp32 weights (quantize, sensitivity, train, prune)
// refuse it rather than silently dequantizing.
void refuse_quantized(const SequenceModel& model, const std::string& model_dir, const std::string& remedy);

// What config.json alone says of a model directory that holds no weights (yet).
struct ConfigSummary {
  ModelInfo info;
  std::vector<std::pair<std::string, int64_t>> parameter_groups;  // as if the weights were there
};
ConfigSummary describe_config(const std::string& model_dir);

// Random weights of the config's shape, always with a classification head (for bench).
std::unique_ptr<SequenceModel> random_model(const std::string& config_path, uint64_t seed);

}  // namespace squish
