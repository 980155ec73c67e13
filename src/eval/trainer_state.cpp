#include "eval/trainer_state.h"

#include <cstring>
#include <filesystem>
#include <map>
#include <stdexcept>

#include "core/error.h"
#include "core/file_util.h"
#include "eval/training_report.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"

namespace squish {
namespace {

using nlohmann::ordered_json;

TensorToWrite f32_tensor(const std::string& name, const float* values, int64_t n) {
  return {name, DType::kF32, Shape{n}, std::string(reinterpret_cast<const char*>(values), static_cast<size_t>(n) * 4)};
}

std::vector<float> f32_values(const TensorMap& tensors, const std::string& name, int64_t n, const std::string& path) {
  const auto it = tensors.find(name);
  if (it == tensors.end() || it->second.dtype != DType::kF32 || it->second.nbytes != static_cast<size_t>(n) * 4)
    throw FormatError(path + ": expected tensor '" + name + "' of " + std::to_string(n) + " f32 values");
  std::vector<float> out(static_cast<size_t>(n));
  std::memcpy(out.data(), it->second.data, it->second.nbytes);
  return out;
}

}  // namespace

ordered_json training_fingerprint(const TrainRequest& q) {
  ordered_json j = training_recipe_json(q.trainer);
  j.erase("max_steps");   // a resumed run may stop elsewhere: the schedule spans the epochs
  j.erase("eval_steps");  // and evaluate at other steps
  std::error_code ec;
  const std::filesystem::path canonical = std::filesystem::weakly_canonical(q.model_dir, ec);
  j["model_dir"] = ec ? q.model_dir : canonical.string();
  j["task"] = q.task;
  j["max_length"] = q.max_length;
  j["max_train_samples"] = q.max_train_samples;
  return j;
}

void write_trainer_state(const std::string& path, const ordered_json& fingerprint, const ParameterBuffer& parameters,
                         int64_t step, const TrainerProgress& progress, const std::vector<EvalPoint>& evaluations,
                         const std::string& best_checkpoint, double best) {
  const int64_t n = parameters.floats();
  ordered_json evals = ordered_json::array();
  for (const EvalPoint& e : evaluations) evals.push_back(eval_point_json(e));
  TrainResult logged;
  logged.steps = progress.steps;
  const std::map<std::string, std::string> metadata = {{"squish.trainer_state", "1"},
                                                       {"step", std::to_string(step)},
                                                       {"optimizer_steps", std::to_string(progress.optimizer.steps())},
                                                       {"fingerprint", fingerprint.dump()},
                                                       {"steps", training_steps_json(logged).dump()},
                                                       {"evaluations", evals.dump()},
                                                       {"best_checkpoint", best_checkpoint},
                                                       {"best", ordered_json(best).dump()}};
  write_safetensors(path,
                    {f32_tensor("parameters", parameters.all(), n),
                     f32_tensor("adamw.exp_avg", progress.optimizer.first_moment().all(), n),
                     f32_tensor("adamw.exp_avg_sq", progress.optimizer.second_moment().all(), n)},
                    metadata);
}

TrainerCheckpoint read_trainer_state(const std::string& checkpoint_dir, const ordered_json& fingerprint,
                                     int64_t parameters) {
  const std::string path = checkpoint_dir + "/" + kTrainerStateFile;
  if (!file_exists(path))
    throw IoError("--resume_from_checkpoint " + checkpoint_dir + ": no " + kTrainerStateFile +
                  " (a checkpoint squish train wrote, with its optimizer state, is expected)");
  std::map<std::string, std::string> metadata;
  const TensorMap tensors = read_safetensors(path, &metadata);
  auto field = [&](const std::string& key) {
    const auto it = metadata.find(key);
    if (it == metadata.end()) throw FormatError(path + ": metadata has no '" + key + "'");
    return it->second;
  };
  if (field("squish.trainer_state") != "1")
    throw FormatError(path + ": trainer state version " + field("squish.trainer_state") + ", expected 1");
  TrainerCheckpoint c;
  try {
    const ordered_json written = ordered_json::parse(field("fingerprint"));
    for (const auto& [key, value] : fingerprint.items())
      if (!written.contains(key) || written[key] != value)
        throw UsageError("--resume_from_checkpoint " + checkpoint_dir + ": the checkpoint was trained with " + key +
                         " = " + (written.contains(key) ? written[key].dump() : "(none)") + ", this run asks " +
                         value.dump() + "; resume with the same settings");
    c.resume.step = std::stoll(field("step"));
    c.resume.optimizer_steps = std::stoll(field("optimizer_steps"));
    for (const auto& s : ordered_json::parse(field("steps")))
      c.resume.steps.push_back({s.at("step").get<int64_t>(), s.at("epoch").get<double>(), s.at("loss").get<double>(),
                                s.at("lr").get<double>(), s.at("grad_norm").get<double>()});
    for (const auto& e : ordered_json::parse(field("evaluations")))
      c.evaluations.push_back({e.at("step").get<int64_t>(), e.at("epoch").get<double>(),
                               e.at("metric").get<std::string>(), e.at("value").get<double>(),
                               e.at("accuracy").get<double>(), e.at("f1").get<double>(),
                               e.at("seconds").get<double>()});
    c.best_checkpoint = field("best_checkpoint");
    c.best = ordered_json::parse(field("best")).get<double>();
  } catch (const ordered_json::exception& e) {
    throw FormatError(path + ": metadata: " + e.what());
  } catch (const std::logic_error&) {  // std::stoll's invalid_argument and out_of_range
    throw FormatError(path + ": metadata: a step is not a number");
  }
  c.parameters = f32_values(tensors, "parameters", parameters, path);
  c.resume.first_moment = f32_values(tensors, "adamw.exp_avg", parameters, path);
  c.resume.second_moment = f32_values(tensors, "adamw.exp_avg_sq", parameters, path);
  return c;
}

}  // namespace squish
