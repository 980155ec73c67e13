// The one place that turns a model directory (or a config for random weights) into a
// SequenceModel, choosing the architecture by config.json's model_type. A new architecture
// registers here and nowhere else.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "model/common/sequence_model.h"

namespace squish {

std::unique_ptr<SequenceModel> load_model(const std::string& model_dir);
// Random weights of the config's shape, always with a classification head (for bench).
std::unique_ptr<SequenceModel> random_model(const std::string& config_path, uint64_t seed);

}  // namespace squish
