// `squish train` as a library call: fine-tune an encoder or classifier (a TrainableClassifier: BERT) on a task's train
// split with HF Trainer's recipe (train/trainer.h), evaluating on the dev split (IMDB: a seeded test subset, it has no
// dev split) during and after training. The output folder (an existing empty folder or a new one):
//   checkpoint-<step>/   a HF model directory after each evaluation; each is staged and renamed whole,
//                        so an interrupted run leaves the last complete one. Only the newest (and
//                        with --load_best_model_at_end the best) are kept.
//   config.json, model.safetensors, vocab.txt, ...   the final (or best) model, HF-compatible
//   training.json       the recipe, per-step loss, dev metrics, tokens/s (eval/training_report.h);
//                       written last, so its presence means the run completed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/staged_directory.h"
#include "eval/runner.h"
#include "train/trainer.h"

namespace squish {

struct TrainRequest {
  std::string model_dir, task, output_dir;
  std::string data_dir = "../shared/data";
  int max_length = 128;
  int64_t max_train_samples = 0;   // 0 = the whole train split; else a seeded subset
  int64_t max_eval_samples = 0;    // 0 = the whole dev split (IMDB: 2,000 test reviews)
  std::string save_dtype = "f32";  // f32 | f16
  bool load_best_model_at_end = false;
  int eval_batch_size = 64;
  std::string resume_from_checkpoint;  // a checkpoint-N folder of an earlier run with the same settings
  TrainerOptions trainer;
};

struct EvalPoint {
  int64_t step = 0;
  double epoch = 0;
  std::string metric;   // the task's GLUE metric: "accuracy" (SST-2, IMDB) or "f1" (MRPC)
  double value = 0;
  double accuracy = 0, f1 = 0;
  double seconds = 0;
};

// What a run trained and evaluated on, as training.json and pruning.json record it.
struct TrainingData {
  std::string eval_split;
  int64_t train_examples = 0, eval_examples = 0;
  int64_t truncated_train_examples = 0;
  bool started_from_encoder = false;  // a new classification head was drawn
};

struct TrainRunResult {
  TrainRequest request;
  TrainingData data;
  TrainResult train;
  std::vector<EvalPoint> evals;
  EvalPoint saved;                    // the metric of the model written to output_dir
  int64_t saved_step = 0;
  int64_t model_file_bytes = 0;
  double wall_seconds = 0;
  int threads = 0;
};

// The pieces the pruning pipeline shares with training: a loaded classifier ready to train (an
// encoder gets a new head) and its data.
struct TrainingSetup {
  std::unique_ptr<TrainableClassifier> model;  // the starting weights, as a classifier (clone() to train)
  bool new_head = false;
  std::shared_ptr<const Tokenizer> tokenizer;
  Task task = Task::kSst2;
  TrainingSet train;
  Dataset eval_data;
  int max_length = 128;
  int64_t truncated_train = 0;
};
TrainingSetup prepare_training(const std::string& model_dir, const std::string& task, const std::string& data_dir,
                               int max_length, int64_t max_train_samples, int64_t max_eval_samples, uint64_t seed);
TrainingData describe_training_data(const TrainingSetup& setup);

// The dev metric of `model` on the setup's evaluation data.
EvalPoint evaluate_classifier(const TrainingSetup& setup, const TrainableClassifier& model, int batch_size);

// Writes `model` as a HF model directory into `out` (source_dir's tokenizer files beside it).
int64_t write_trained_model(const TrainableClassifier& model, const std::string& source_dir, const StagedDirectory& out,
                            DType dtype);

TrainRunResult run_train(const TrainRequest& request);

}  // namespace squish
