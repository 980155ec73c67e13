#include "train/trainer.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <span>

#include "core/communicator.h"
#include "core/elapsed.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/random.h"
#include "train/length_grouped_batches.h"
#include "train/schedule.h"

namespace squish {

LabeledBatch labeled_batch(const TrainingSet& data, const std::vector<size_t>& indices) {
  LabeledBatch b{make_token_batch(data.encodings, indices, data.pad_id), {}};
  for (size_t i : indices) b.labels.push_back(data.labels[i]);
  return b;
}

TrainingStep::TrainingStep(const TrainableClassifier& model, const AdamWOptions& options)
    : optimizer_(model.parameters().shared_layout(), options), grads_(model.parameters().shared_layout()) {}

TrainingStep::Result TrainingStep::run(
    TrainableClassifier& model, const TokenBatch& batch, const std::vector<int32_t>& labels,
    const TrainingDropout& dropout, int64_t step_sequences, double lr, double max_grad_norm,
    const ParameterBuffer* mask,
    const std::function<void(const TrainableClassifier&, const ParameterBuffer&)>& on_gradients) {
  grads_.set_zero();
  double loss = 0;
  if (batch.batch > 0) {
    // Summed over this rank's share and divided by the step's sequences: each sequence's gradient is
    // the one a single process computes, and the ranks' sums are the step's mean.
    loss = model.train_forward(batch, labels, dropout, step_sequences);
    model.backward(batch, grads_);
  }
  if (world().size() > 1) {
    world().sum_in_place(std::span<float>(grads_.all(), static_cast<size_t>(grads_.floats())));
    world().sum_in_place(std::span<double>(&loss, 1));
  }
  if (on_gradients) on_gradients(model, grads_);
  if (mask) grads_.apply_mask(*mask);
  const double norm = clip_gradients(grads_, max_grad_norm);
  optimizer_.step(model.parameters(), grads_, lr);
  if (mask) model.parameters().apply_mask(*mask);
  return {loss, norm};
}

namespace {

// How often the ranks of a distributed run compare a hash of their parameters: identical inputs and
// arithmetic keep them equal, so a difference is a bug or a faulty node, better stopped early.
constexpr int64_t kParameterCheckSteps = 50;

void check_ranks_agree(const ParameterBuffer& values, int64_t step) {
  const uint64_t hash = crc32_z(crc32_z(0, nullptr, 0), reinterpret_cast<const Bytef*>(values.all()),
                                static_cast<size_t>(values.floats()) * sizeof(float));
  const std::vector<uint64_t> hashes = all_gather_values<uint64_t>(std::span<const uint64_t>(&hash, 1));
  for (size_t r = 1; r < hashes.size(); ++r)
    if (hashes[r] != hashes[0])
      throw Error(ExitCode::kInternal, "training: the parameters of rank " + std::to_string(r) +
                                           " differ from rank 0's after step " + std::to_string(step) +
                                           " (every rank applies the same summed gradients; a bug or a faulty node)");
}

}  // namespace

int64_t training_steps(int64_t examples, int64_t batch_size, int64_t epochs) {
  return (examples + batch_size - 1) / batch_size * epochs;
}

int64_t steps_to_run(int64_t examples, const TrainerOptions& o) {
  const int64_t total = training_steps(examples, o.batch_size, o.epochs);
  return o.max_steps > 0 ? std::min(o.max_steps, total) : total;
}

TrainResult train_classifier(TrainableClassifier& model, const TrainingSet& data, const TrainerOptions& o,
                             const ParameterBuffer* mask, const TrainerHooks& hooks, const TrainerResume* resume) {
  const auto n = static_cast<int64_t>(data.encodings.size());
  if (n == 0) throw DataError("training set is empty");
  if (static_cast<int64_t>(data.labels.size()) != n)
    throw DataError("training set: " + std::to_string(data.labels.size()) + " labels for " + std::to_string(n) +
                    " examples");
  if (o.epochs <= 0) throw UsageError("--epochs must be positive, found " + std::to_string(o.epochs));
  if (o.lr <= 0) throw UsageError("--lr must be positive");
  std::vector<int64_t> lengths(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) lengths[static_cast<size_t>(i)] = static_cast<int64_t>(data.encodings[static_cast<size_t>(i)].input_ids.size());

  TrainResult result;
  result.total_steps = training_steps(n, o.batch_size, o.epochs);
  const int64_t steps_per_epoch = result.total_steps / o.epochs;
  const int64_t last_step = steps_to_run(n, o);
  const LinearSchedule schedule = LinearSchedule::with_warmup_ratio(o.lr, o.warmup_ratio, result.total_steps);
  TrainingStep training_step(model, AdamWOptions{.weight_decay = o.weight_decay});
  if (mask) model.parameters().apply_mask(*mask);
  if (resume) {
    if (resume->step >= last_step)
      throw UsageError("--resume_from_checkpoint: the checkpoint is at step " + std::to_string(resume->step) +
                       " and this run ends at step " + std::to_string(last_step) + "; nothing is left to train");
    training_step.optimizer().restore(resume->first_moment, resume->second_moment, resume->optimizer_steps);
    result.steps = resume->steps;
  }

  ProgressBar bar("train", o.progress ? last_step : 0, "steps");
  int64_t step = 0;
  for (int64_t epoch = 0; epoch < o.epochs && step < last_step; ++epoch) {
    const auto batches = length_grouped_batches(lengths, o.batch_size, random_stream(o.seed, static_cast<uint64_t>(epoch)));
    for (size_t bi = 0; bi < batches.size() && step < last_step; ++bi) {
      if (resume && step < resume->step) {  // done before the checkpoint
        ++step;
        bar.advance(1);
        continue;
      }
      const Clock::time_point start = Clock::now();
      // A distributed run splits the step's batch into consecutive shares, one a rank.
      const std::vector<size_t>& whole = batches[bi];
      const size_t ranks = static_cast<size_t>(world().size()), rank = static_cast<size_t>(world().rank());
      const size_t first = whole.size() * rank / ranks, end = whole.size() * (rank + 1) / ranks;
      const LabeledBatch labeled = labeled_batch(
          data, {whole.begin() + static_cast<std::ptrdiff_t>(first), whole.begin() + static_cast<std::ptrdiff_t>(end)});
      const TokenBatch& batch = labeled.tokens;
      const TrainingDropout dropout{o.dropout, o.seed, static_cast<uint64_t>(step), static_cast<int64_t>(first)};
      const double lr = schedule.rate(step);
      const auto [loss, norm] =
          training_step.run(model, batch, labeled.labels, dropout, static_cast<int64_t>(whole.size()), lr,
                            o.max_grad_norm, mask, hooks.on_gradients);
      ++step;
      result.seconds += seconds_since(start);
      result.examples += static_cast<int64_t>(whole.size());
      int64_t longest = 0;
      for (size_t i : whole) {
        const int64_t length = lengths[i];
        result.tokens += length;
        longest = std::max(longest, length);
      }
      // What one process would compute; a distributed step pads each share to its own longest.
      result.padded_tokens += static_cast<int64_t>(whole.size()) * longest;
      if (world().size() > 1 && (step % kParameterCheckSteps == 0 || step == last_step))
        check_ranks_agree(model.parameters(), step);
      const double epoch_done = static_cast<double>(epoch) + static_cast<double>(bi + 1) / static_cast<double>(batches.size());
      result.steps.push_back({step, epoch_done, loss, lr, norm});
      bar.set_detail(fmt::format("loss {:.4f}  lr {:.2e}  {:.0f} tok/s", loss, lr, result.tokens_per_second()));
      bar.advance(1);
      if (hooks.after_step) hooks.after_step(model, step);
      const bool epoch_end = (step % steps_per_epoch) == 0;
      const bool eval_now = o.eval_steps > 0 ? step % o.eval_steps == 0 : epoch_end;
      if (hooks.evaluate && (eval_now || step == last_step))
        hooks.evaluate(model, step, epoch_done, TrainerProgress{training_step.optimizer(), result.steps});
    }
  }
  bar.finish();
  return result;
}

}  // namespace squish
