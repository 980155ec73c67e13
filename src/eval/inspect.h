// What `squish inspect` reports about a model directory: architecture, parameter counts by group,
// the dtypes stored in the weights file, every Linear with its representation, and sizes.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/common/sequence_model.h"

namespace squish {

struct LinearSummary {
  std::string name, role, format;
  int64_t out_features = 0, in_features = 0, bytes = 0;
  std::vector<std::string> parts;
  std::string scheme;  // int8: "s8 per_channel, u8 input scale 0.0123 zero point 87"; sparse: kept weights; empty for f32
};

struct ModelSummary {
  std::string model_dir;
  ModelInfo info;
  nlohmann::json config;                                // config.json as written
  std::vector<std::pair<std::string, int64_t>> groups;  // parameter counts: embeddings, attention, ...
  int64_t parameters = 0;
  int64_t resident_bytes = 0;
  std::vector<LinearSummary> linears;
  std::string embeddings_format;                        // the word embeddings' (empty without weights)
  std::string attention;                                // its products' arithmetic, f32 | int8 (empty without weights)
  std::string tied_head;  // a tied LM head's arithmetic: "table" (its values, fp32) | "int8-dynamic"; empty: none
};

ModelSummary inspect_model(const std::string& model_dir);
nlohmann::json model_summary_json(const ModelSummary& s);
std::string model_summary_text(const ModelSummary& s);

}  // namespace squish
