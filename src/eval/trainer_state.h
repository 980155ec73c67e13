// What a training checkpoint keeps besides its model so that `squish train --resume_from_checkpoint`
// continues the run exactly: `trainer_state.safetensors` in the checkpoint folder, with the fp32
// parameters (the model beside it may be f16), AdamW's two moments, and as metadata the step, the
// optimizer's step count, the steps and evaluations logged so far, the best checkpoint and the recipe.
// Resuming with another recipe (anything that changes the batches, the schedule or the arithmetic) is
// refused, naming the setting.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/train_pipeline.h"
#include "train/trainer.h"

namespace squish {

inline constexpr const char* kTrainerStateFile = "trainer_state.safetensors";

struct TrainerCheckpoint {
  TrainerResume resume;
  std::vector<float> parameters;  // the whole ParameterBuffer, in its layout
  std::vector<EvalPoint> evaluations;
  std::string best_checkpoint;  // the folder of the best evaluation so far ("" when none is kept)
  double best = -1;
};

// The settings a resumed run must share with the one that wrote the checkpoint.
nlohmann::ordered_json training_fingerprint(const TrainRequest& q);

void write_trainer_state(const std::string& path, const nlohmann::ordered_json& fingerprint,
                         const ParameterBuffer& parameters, int64_t step, const TrainerProgress& progress,
                         const std::vector<EvalPoint>& evaluations, const std::string& best_checkpoint, double best);

// FormatError for a file that is not one; UsageError when `fingerprint` differs, naming the setting.
TrainerCheckpoint read_trainer_state(const std::string& checkpoint_dir, const nlohmann::ordered_json& fingerprint,
                                     int64_t parameters);

}  // namespace squish
