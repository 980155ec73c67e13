// `squish export`: a model squish holds, written back as a HF model directory that transformers
// loads (config.json with its dtype set, tokenizer files, model.safetensors with every tensor
// under its HF name), F32 or F16.
#pragma once

#include <string>

#include "core/dtype.h"
#include "core/staged_directory.h"
#include "model/common/sequence_model.h"

namespace squish {

struct ExportRequest {
  std::string model_dir, output_dir;
  std::string dtype = "f32";  // f32 | f16
};

// Returns the bytes of the written weights file.
int64_t export_model(const ExportRequest& request);

// The dtype a HF checkpoint is written in: "f32" or "f16"; UsageError "<flag> x: expected f32 or f16".
DType checkpoint_dtype(const std::string& name, const std::string& flag);

// `model` as a HF model directory into `out`: config.json (the source's, with the model's
// architecture, labels, dtype and per-layer sizes), the tokenizer files of `source_dir`,
// model.safetensors in `dtype`. Returns the bytes of the weights file.
int64_t write_hf_model(const SequenceModel& model, const std::string& source_dir, const StagedDirectory& out,
                       DType dtype);

// squish's own model directory for `model` (loaded from `source_dir`) into `out`: config.json (the
// source's, with the model's per-layer sizes when structured pruning changed them) and the
// tokenizer files copied, model.safetensors as squish's container (every Linear in its format,
// docs/formats.md). Returns the bytes of the weights file.
int64_t write_squish_model(const SequenceModel& model, const std::string& source_dir, const StagedDirectory& out);

}  // namespace squish
