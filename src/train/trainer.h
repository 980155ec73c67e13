// One fine-tuning run of a classifier (any TrainableClassifier) with HF Trainer's recipe: length-grouped shuffled
// batches (length_grouped_batches.h), mean cross-entropy, gradient clipping, AdamW and the linear
// warm-up/decay schedule (adamw.h, schedule.h), dropout from the config with seeded draws.
// A pruning mask, when given, is held: gradients are masked before clipping and the parameters
// after every step, so masked weights, their gradients and their AdamW moments stay exactly zero.
// The trainer knows nothing of data sets, metrics or files: evaluation, checkpoints and rewind
// points are hooks the caller fills (eval/train_pipeline.h).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "io/tokenizer/tokenizer.h"
#include "model/common/trainable_classifier.h"
#include "train/adamw.h"

namespace squish {

struct TrainingSet {
  std::vector<Encoding> encodings;
  std::vector<int32_t> labels;
  int32_t pad_id = 0;
};

struct TrainerOptions {
  int64_t epochs = 2;
  double lr = 5e-5;
  int batch_size = 32;
  double weight_decay = 0.01;
  double warmup_ratio = 0.06;
  double max_grad_norm = 1.0;
  uint64_t seed = 42;
  bool dropout = true;     // the config's rates; false trains without dropout
  int64_t max_steps = -1;  // stop after this many optimizer steps (the schedule still spans the epochs)
  int64_t eval_steps = 0;  // evaluate every N steps; 0: after each epoch. Always after the last step.
  bool progress = true;
};

struct StepRecord {
  int64_t step;  // 1-based: optimizer steps done
  double epoch;  // fractional, as HF logs it
  double loss, lr, grad_norm;
};

// What a checkpoint needs to continue a run exactly: AdamW's state and the steps logged so far.
struct TrainerProgress {
  const AdamW& optimizer;
  const std::vector<StepRecord>& steps;
};

// Where a run continues from a checkpoint: the steps done (their batches are skipped, the schedule and
// dropout keys go on from there), AdamW's moments and the steps logged; the parameters are the caller's.
struct TrainerResume {
  int64_t step = 0;
  std::vector<float> first_moment, second_moment;
  int64_t optimizer_steps = 0;
  std::vector<StepRecord> steps;
};

struct TrainerHooks {
  // Called at every evaluation point with the parameters, the steps done and what a checkpoint keeps.
  std::function<void(const TrainableClassifier&, int64_t step, double epoch, const TrainerProgress&)> evaluate;
  // After backward, before masking and clipping: one batch's gradient (first-order importance).
  std::function<void(const TrainableClassifier&, const ParameterBuffer& grads)> on_gradients;
  // After each optimizer step (rewind points, checkpoints).
  std::function<void(const TrainableClassifier&, int64_t step)> after_step;
};

struct TrainResult {
  std::vector<StepRecord> steps;
  int64_t total_steps = 0;           // of the schedule
  double seconds = 0;                // training steps only (evaluation hooks excluded)
  int64_t examples = 0;              // sequences processed
  int64_t tokens = 0, padded_tokens = 0;  // real tokens, and tokens computed (padding included)
  double tokens_per_second() const { return seconds > 0 ? static_cast<double>(padded_tokens) / seconds : 0; }
};

// Sequences `indices` of the training set as a padded batch, with their labels.
struct LabeledBatch {
  TokenBatch tokens;
  std::vector<int32_t> labels;
};
LabeledBatch labeled_batch(const TrainingSet& data, const std::vector<size_t>& indices);

// One optimizer step as the trainer runs it, and what it keeps from step to step (AdamW's moments,
// the gradient buffer, the activations), so `squish bench --train` times exactly the trainer's step:
// gradients zeroed; forward with `dropout`, the loss divided by the step's `step_sequences` (the batch's
// own in one process; a rank's share of a distributed step, possibly empty, passes the step's); backward;
// in a distributed run the ranks' gradients and losses summed, so every rank holds the step's mean;
// `on_gradients` (if any) sees that gradient;
// the mask (if any) zeroes masked gradients; clipping to max_grad_norm; AdamW at `lr`; the mask
// zeroes masked weights again.
class TrainingStep {
 public:
  TrainingStep(const TrainableClassifier& model, const AdamWOptions& options);
  struct Result {
    double loss, grad_norm;  // grad_norm before clipping
  };
  AdamW& optimizer() { return optimizer_; }
  Result run(TrainableClassifier& model, const TokenBatch& batch, const std::vector<int32_t>& labels,
             const TrainingDropout& dropout, int64_t step_sequences, double lr, double max_grad_norm,
             const ParameterBuffer* mask,
             const std::function<void(const TrainableClassifier&, const ParameterBuffer&)>& on_gradients = {});

 private:
  AdamW optimizer_;
  ParameterBuffer grads_;
};

// Optimizer steps of `examples` sequences at `batch_size` for `epochs`.
int64_t training_steps(int64_t examples, int64_t batch_size, int64_t epochs);
// The steps train_classifier runs on `examples` sequences: training_steps, cut at options.max_steps.
int64_t steps_to_run(int64_t examples, const TrainerOptions& options);

// Trains `model` in place. mask: null, or a 0/1 buffer of its parameters' layout. resume: null, or where a
// checkpoint left the run (the model then holds its parameters); the result equals the uninterrupted run's bit for bit
// at the same thread and rank counts.
TrainResult train_classifier(TrainableClassifier& model, const TrainingSet& data, const TrainerOptions& options,
                             const ParameterBuffer* mask, const TrainerHooks& hooks = {},
                             const TrainerResume* resume = nullptr);

}  // namespace squish
