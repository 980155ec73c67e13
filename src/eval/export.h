// `squish export`: a model squish holds, written back as a HF model directory that transformers
// loads (config.json with its dtype set, tokenizer files, model.safetensors with every tensor
// under its HF name), F32 or F16.
#pragma once

#include <string>

#include "core/dtype.h"

namespace squish {

struct ExportRequest {
  std::string model_dir, output_dir;
  std::string dtype = "f32";  // f32 | f16
};

// Returns the bytes of the written weights file.
int64_t export_model(const ExportRequest& request);

}  // namespace squish
