// `squish sensitivity` as a library call: load the fp32 model, draw calibration examples from the
// train split (never the evaluation split), measure every unit's sensitivity at every width
// (quant/sensitivity.h) and write a run folder with sensitivity.json (what `squish allocate`
// reads: per unit and width the similarity, sensitivity, weight error, time and stored bytes) and
// sensitivity.log (the same, for people, in the study's style).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/calibration_data.h"
#include "quant/bit_plan.h"
#include "quant/sensitivity.h"

namespace squish {

struct SensitivityRequest {
  std::string model_dir, output_dir, task;
  std::string data_dir = "../shared/data";
  std::string calib_split = "train", eval_split;  // eval_split: refused for calibration; empty: the task's
  std::string calib_data;  // a causal LM's calibration texts (load_text_calibration_set); empty: imdb
  int64_t calib_size = 5000;
  int calib_batch_size = 16;
  int max_length = 512;
  SensitivityOptions options;
  bool progress = true;
};

// What each unit's weights would store at each width (sizes.stored_bytes[unit][width], in --bits
// order), and what no width changes: known from the shapes alone, before anything is measured.
struct SensitivitySizes {
  std::vector<std::vector<int64_t>> stored_bytes;  // [unit][width]: the unit's weights in that format
  int64_t fixed_bytes = 0;  // every other stored tensor (biases, LayerNorms, positions, head) plus a header allowance
  int64_t fixed_weights = 0, fixed_weight_bytes = 0;  // the Linear weights no unit holds (the head), stored
};
SensitivitySizes sensitivity_sizes(SequenceModel& model, const SensitivityOptions& options);
// The smallest file a plan over these units can make (every unit at its smallest width).
int64_t smallest_planned_bytes(const SensitivitySizes& sizes);

struct SensitivityRun {
  SensitivityRequest request;
  CalibrationSet calibration;
  SensitivityResult result;
  SensitivitySizes sizes;
  int64_t parameters = 0, fp32_bytes = 0;
  std::string model_name;
  PlannedModel model;  // the shapes every plan allocated from this run is for
};

// Measures on a loaded model (the mixed-precision pipeline shares its model and calibration set, and
// the sizes it checked its target against).
SensitivityRun measure_model_sensitivity(SequenceModel& model, const SensitivityRequest& request,
                                         CalibrationSet calibration, SensitivitySizes sizes);
// Loads, measures and writes request.output_dir (staged, renamed whole).
SensitivityRun run_sensitivity(const SensitivityRequest& request);
// The calibration set a sensitivity run measures on: a classifier's task split (never the one it is
// scored on), or a causal LM's texts (--calib_data; HellaSwag refused). UsageError when --task does
// not fit the model.
CalibrationSet sensitivity_calibration(const Tokenizer& tokenizer, const SequenceModel& model,
                                       const SensitivityRequest& request);

nlohmann::ordered_json sensitivity_json(const SensitivityRun& run);
std::string sensitivity_log(const SensitivityRun& run);
// Writes sensitivity.json and sensitivity.log into `dir`.
void write_sensitivity_files(const SensitivityRun& run, const std::string& dir);

}  // namespace squish
