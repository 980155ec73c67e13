// What `squish inspect` reports about a model directory: architecture, parameter counts by group,
// the dtypes stored in the weights file, and sizes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/bert/bert_config.h"

namespace squish {

struct ModelSummary {
  std::string model_dir, weights_file;
  BertConfig config;
  int64_t weights_file_bytes = 0;
  int64_t tensors = 0;
  std::map<std::string, int64_t> dtype_tensors;         // "F32" → number of tensors
  std::vector<std::pair<std::string, int64_t>> groups;  // parameter counts: embeddings, attention, ...
  int64_t parameters = 0;
  int64_t unused_tensors = 0;                           // stored but not part of the model (e.g. an MLM head)
};

ModelSummary inspect_model(const std::string& model_dir);
nlohmann::json model_summary_json(const ModelSummary& s);
std::string model_summary_text(const ModelSummary& s);

}  // namespace squish
