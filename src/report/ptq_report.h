// ptq-compare and calib-ablation results as one JSON document (schema squish.ptq_compare or
// squish.calib_ablation) and one table each: per variant the task metric and its change against
// fp32, accuracy/precision/recall/F1, size on disk and compression, examples/s and quantization time.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "eval/ptq_experiments.h"

namespace squish {

nlohmann::ordered_json ptq_experiment_json(const PtqExperimentResult& r, std::string_view kind);
std::string ptq_experiment_table(const PtqExperimentResult& r);

}  // namespace squish
