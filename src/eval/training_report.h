// training.json, the record of a `squish train` run (schema "squish.training", version 1): the run
// header, the recipe, the data, every optimizer step's loss / learning rate / gradient norm, the dev
// metric at each evaluation, which one was saved, and the throughput. docs/training.md documents it.
#pragma once

#include <nlohmann/json.hpp>

#include "eval/train_pipeline.h"

namespace squish {

nlohmann::ordered_json training_recipe_json(const TrainerOptions& o);
nlohmann::ordered_json training_steps_json(const TrainResult& r);
nlohmann::ordered_json eval_point_json(const EvalPoint& e);
// "started_from" and "data" of training.json and pruning.json.
void add_training_data_json(nlohmann::ordered_json& j, const TrainingData& d, const std::string& data_dir,
                            int64_t max_train_samples);
nlohmann::ordered_json training_json(const TrainRunResult& r);

}  // namespace squish
