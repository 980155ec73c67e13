#include "eval/training_report.h"

#include "eval/run_header.h"

namespace squish {

using nlohmann::ordered_json;

ordered_json training_recipe_json(const TrainerOptions& o) {
  return {{"epochs", o.epochs},
          {"lr", o.lr},
          {"batch_size", o.batch_size},
          {"optimizer", {{"name", "adamw"}, {"betas", {0.9, 0.999}}, {"eps", 1e-8}, {"weight_decay", o.weight_decay},
                         {"no_decay", "biases and LayerNorm"}}},
          {"schedule", {{"name", "linear"}, {"warmup_ratio", o.warmup_ratio}}},
          {"max_grad_norm", o.max_grad_norm},
          {"dropout", o.dropout ? "config" : "off"},
          {"batches", "length-grouped, shuffled (HF group_by_length)"},
          {"seed", o.seed},
          {"max_steps", o.max_steps},
          {"eval_steps", o.eval_steps}};
}

ordered_json training_steps_json(const TrainResult& r) {
  ordered_json steps = ordered_json::array();
  for (const StepRecord& s : r.steps)
    steps.push_back({{"step", s.step}, {"epoch", s.epoch}, {"loss", s.loss}, {"lr", s.lr}, {"grad_norm", s.grad_norm}});
  return steps;
}

ordered_json eval_point_json(const EvalPoint& e) {
  return {{"step", e.step}, {"epoch", e.epoch}, {"metric", e.metric}, {"value", e.value},
          {"accuracy", e.accuracy}, {"f1", e.f1}, {"seconds", e.seconds}};
}

void add_training_data_json(ordered_json& j, const TrainingData& d, const std::string& data_dir,
                            int64_t max_train_samples) {
  j["started_from"] = d.started_from_encoder ? "encoder (new classification head)" : "classifier";
  j["data"] = {{"data_dir", data_dir},
               {"train_examples", d.train_examples},
               {"max_train_samples", max_train_samples},
               {"truncated_train_examples", d.truncated_train_examples},
               {"eval_split", d.eval_split},
               {"eval_examples", d.eval_examples}};
}

ordered_json training_json(const TrainRunResult& r) {
  ordered_json j = run_header("training", 1);
  const TrainRequest& q = r.request;
  j["model_dir"] = q.model_dir;
  j["task"] = q.task;
  add_training_data_json(j, r.data, q.data_dir, q.max_train_samples);
  j["recipe"] = training_recipe_json(q.trainer);
  if (!q.resume_from_checkpoint.empty()) j["resumed_from_checkpoint"] = q.resume_from_checkpoint;
  j["recipe"]["max_length"] = q.max_length;
  j["evaluations"] = ordered_json::array();
  for (const EvalPoint& e : r.evals) j["evaluations"].push_back(eval_point_json(e));
  j["saved"] = {{"step", r.saved_step},
                {"rule", q.load_best_model_at_end ? "best dev metric" : "last step"},
                {"dev", eval_point_json(r.saved)},
                {"dtype", q.save_dtype},
                {"model_file_bytes", r.model_file_bytes}};
  const TrainResult& t = r.train;
  j["throughput"] = {{"optimizer_steps", static_cast<int64_t>(t.steps.size())},
                     {"schedule_steps", t.total_steps},
                     {"train_seconds", t.seconds},
                     {"examples", t.examples},
                     {"tokens", t.tokens},
                     {"padded_tokens", t.padded_tokens},
                     {"tokens_per_second", t.tokens_per_second()},
                     {"examples_per_second", t.seconds > 0 ? static_cast<double>(t.examples) / t.seconds : 0.0},
                     {"threads", r.threads}};
  j["wall_seconds"] = r.wall_seconds;
  j["steps"] = training_steps_json(t);
  return j;
}

}  // namespace squish
