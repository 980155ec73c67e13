#include "eval/train_pipeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "core/communicator.h"
#include "core/elapsed.h"
#include "core/error.h"
#include "core/file_util.h"
#include "core/progress.h"
#include "core/threads.h"
#include "eval/export.h"
#include "eval/trainer_state.h"
#include "eval/training_report.h"
#include "model/common/trainable_classifier.h"
#include "model/load_model.h"

namespace fs = std::filesystem;

namespace squish {
namespace {

constexpr int64_t kImdbEvalSamples = 2000;  // IMDB has no dev split: a seeded test subset is watched

// The output folder is checked before any work (check_new_directory: a finished run's folder is
// never overwritten) and created, with its parents, once the model and data have loaded.
void create_output_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError("--output_dir " + dir + ": cannot create it: " + ec.message());
}

// Copies a checkpoint's model files to the folder's top level, each written under a temporary name
// first (not the optimizer state: the folder is the trained model).
void publish(const std::string& checkpoint, const std::string& dir) {
  for (const auto& entry : fs::directory_iterator(checkpoint)) {
    if (entry.path().filename() == kTrainerStateFile) continue;
    const std::string target = dir + "/" + entry.path().filename().string();
    const std::string tmp = target + ".tmp";
    fs::copy_file(entry.path(), tmp, fs::copy_options::overwrite_existing);
    fs::rename(tmp, target);
  }
}

}  // namespace

TrainingSetup prepare_training(const std::string& model_dir, const std::string& task_name, const std::string& data_dir,
                               int max_length, int64_t max_train_samples, int64_t max_eval_samples, uint64_t seed) {
  TrainingSetup s;
  s.task = parse_task(task_name);
  s.max_length = max_length;
  const std::unique_ptr<SequenceModel> loaded = load_model(model_dir);
  // Training would dequantize and train fp32 weights, recording nothing of where they came from.
  refuse_quantized(*loaded, model_dir, "train or prune its fp32 source, then quantize the result");
  const ModelInfo& info = loaded->info();
  const Dataset train = take_subset(load_dataset(s.task, Split::kTrain, data_dir), max_train_samples, seed);
  s.new_head = !info.has_classifier;  // an encoder: a new head as HF's from_pretrained draws it
  if (!s.new_head && info.num_labels != train.num_labels)
    throw ConfigError(model_dir + ": a classifier of " + std::to_string(info.num_labels) + " labels, but " +
                      std::string(task_name) + " has " + std::to_string(train.num_labels));
  s.model = loaded->trainable_classifier(NewHead{train.num_labels, seed});
  s.tokenizer = load_tokenizer(model_dir);
  check_max_length(max_length, *s.tokenizer, info, s.task == Task::kMrpc);
  s.train.encodings = encode_dataset(*s.tokenizer, train, max_length, &s.truncated_train);
  for (const Example& e : train.examples) s.train.labels.push_back(e.label);
  s.train.pad_id = s.tokenizer->pad_id();
  const Split eval_split = s.task == Task::kImdb ? Split::kTest : Split::kDev;
  const int64_t eval_samples = max_eval_samples > 0 ? max_eval_samples : (s.task == Task::kImdb ? kImdbEvalSamples : 0);
  s.eval_data = take_subset(load_dataset(s.task, eval_split, data_dir), eval_samples, seed);
  return s;
}

TrainingData describe_training_data(const TrainingSetup& s) {
  return {std::string(split_name(s.eval_data.split)), static_cast<int64_t>(s.train.encodings.size()),
          static_cast<int64_t>(s.eval_data.examples.size()), s.truncated_train, s.new_head};
}

EvalPoint evaluate_classifier(const TrainingSetup& s, const TrainableClassifier& model, int batch_size) {
  const Clock::time_point start = Clock::now();
  const std::unique_ptr<SequenceModel> sequence_model = model.inference_model();
  const EvalResult r = evaluate(*sequence_model, *s.tokenizer, s.eval_data,
                                EvalOptions{.max_length = s.max_length, .batch_size = batch_size, .progress = false});
  EvalPoint e;
  e.metric = r.score.headline;
  e.value = r.score.value;
  e.accuracy = r.metrics.accuracy;
  e.f1 = r.metrics.f1;
  e.seconds = seconds_since(start);
  return e;
}

int64_t write_trained_model(const TrainableClassifier& model, const std::string& source_dir, const StagedDirectory& out,
                            DType dtype) {
  return write_hf_model(*model.inference_model(), source_dir, out, dtype);
}

TrainRunResult run_train(const TrainRequest& q) {
  const Clock::time_point start = Clock::now();
  const DType dtype = checkpoint_dtype(q.save_dtype, "--save_dtype");
  if (q.output_dir.empty()) throw UsageError("--output_dir is required");
  // The output folder is rank 0's (core/communicator.h): the others stage their checkpoints beside
  // its own and drop them.
  const bool writes = is_output_rank();
  if (writes) check_new_directory(q.output_dir);
  TrainRunResult r;
  r.request = q;
  r.threads = num_threads();
  const TrainingSetup setup = prepare_training(q.model_dir, q.task, q.data_dir, q.max_length, q.max_train_samples,
                                               q.max_eval_samples, q.trainer.seed);
  r.data = describe_training_data(setup);
  const std::unique_ptr<TrainableClassifier> model = setup.model->clone();
  const nlohmann::ordered_json fingerprint = training_fingerprint(q);
  std::optional<TrainerCheckpoint> resumed;
  std::string last_checkpoint, best_checkpoint;
  double best = -1;
  if (!q.resume_from_checkpoint.empty()) {
    resumed = read_trainer_state(q.resume_from_checkpoint, fingerprint, model->parameters().floats());
    std::copy(resumed->parameters.begin(), resumed->parameters.end(), model->parameters().all());
    r.evals = resumed->evaluations;
    best = resumed->best;
    best_checkpoint = resumed->best_checkpoint;  // in the earlier run's folder, which is never removed from
  }
  if (writes) create_output_dir(q.output_dir);

  TrainerHooks hooks;
  hooks.evaluate = [&](const TrainableClassifier& now, int64_t step, double epoch, const TrainerProgress& progress) {
    EvalPoint e = evaluate_classifier(setup, now, q.eval_batch_size);
    e.step = step;
    e.epoch = epoch;
    r.evals.push_back(e);
    print_progress_note(fmt::format("step {} (epoch {:.2f}): dev {} {:.4f}", step, epoch, e.metric, e.value));
    const std::string dir = fmt::format("{}/checkpoint-{}", q.output_dir, step);
    const std::string previous_best = best_checkpoint;
    if (e.value > best) {
      best = e.value;
      best_checkpoint = dir;
    }
    {
      StagedDirectory out(dir);
      write_trained_model(now, q.model_dir, out, dtype);
      write_trainer_state(out.file(kTrainerStateFile), fingerprint, now.parameters(), step, progress, r.evals,
                          best_checkpoint, best);
      out.commit();
    }
    // Keep the newest checkpoint and, when asked, the best; remove the rest of this run's once the new
    // one is whole.
    for (const std::string& old : {last_checkpoint, previous_best})
      if (writes && !old.empty() && old != dir && !(q.load_best_model_at_end && old == best_checkpoint) &&
          old.rfind(q.output_dir + "/", 0) == 0)
        fs::remove_all(old);
    last_checkpoint = dir;
  };
  r.train = train_classifier(*model, setup.train, q.trainer, nullptr, hooks, resumed ? &resumed->resume : nullptr);

  const std::string chosen = q.load_best_model_at_end ? best_checkpoint : last_checkpoint;
  const std::string chosen_name = fs::path(chosen).filename().string();
  for (const EvalPoint& e : r.evals)
    if (fmt::format("checkpoint-{}", e.step) == chosen_name) r.saved = e;
  r.saved_step = r.saved.step;
  r.wall_seconds = seconds_since(start);
  if (!writes) return r;
  publish(chosen, q.output_dir);
  r.model_file_bytes = static_cast<int64_t>(fs::file_size(q.output_dir + "/model.safetensors"));
  write_file_atomic(q.output_dir + "/training.json", training_json(r).dump(2) + "\n");
  return r;
}

}  // namespace squish
