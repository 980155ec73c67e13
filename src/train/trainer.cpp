#include "train/trainer.h"

#include <fmt/format.h>

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

TrainingStep::TrainingStep(const BertParameters& p, const AdamWOptions& options)
    : optimizer_(p.values.shared_layout(), options), grads_(p.values.shared_layout()) {}

TrainingStep::Result TrainingStep::run(BertParameters& p, const TokenBatch& batch, const std::vector<int32_t>& labels,
                                       const BertDropout& dropout, double lr, double max_grad_norm,
                                       const ParameterBuffer* mask,
                                       const std::function<void(const BertParameters&, const ParameterBuffer&)>& on_gradients) {
  grads_.set_zero();
  const double loss = bert_train_forward(p, batch, labels, dropout, act_);
  bert_backward(p, batch, act_, grads_);
  if (on_gradients) on_gradients(p, grads_);
  if (mask) grads_.apply_mask(*mask);
  const double norm = clip_gradients(grads_, max_grad_norm);
  optimizer_.step(p.values, grads_, lr);
  if (mask) p.values.apply_mask(*mask);
  return {loss, norm};
}

int64_t training_steps(int64_t examples, int64_t batch_size, int64_t epochs) {
  return (examples + batch_size - 1) / batch_size * epochs;
}

int64_t steps_to_run(int64_t examples, const TrainerOptions& o) {
  const int64_t total = training_steps(examples, o.batch_size, o.epochs);
  return o.max_steps > 0 ? std::min(o.max_steps, total) : total;
}

TrainResult train_classifier(BertParameters& p, const TrainingSet& data, const TrainerOptions& o,
                             const ParameterBuffer* mask, const TrainerHooks& hooks) {
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
  TrainingStep training_step(p, AdamWOptions{.weight_decay = o.weight_decay});
  if (mask) p.values.apply_mask(*mask);

  ProgressBar bar("train", o.progress ? last_step : 0, "steps");
  int64_t step = 0;
  for (int64_t epoch = 0; epoch < o.epochs && step < last_step; ++epoch) {
    const auto batches = length_grouped_batches(lengths, o.batch_size, random_stream(o.seed, static_cast<uint64_t>(epoch)));
    for (size_t bi = 0; bi < batches.size() && step < last_step; ++bi) {
      const Clock::time_point start = Clock::now();
      const LabeledBatch labeled = labeled_batch(data, batches[bi]);
      const TokenBatch& batch = labeled.tokens;
      const BertDropout dropout = o.dropout ? BertDropout::from_config(p.config, o.seed, static_cast<uint64_t>(step))
                                            : BertDropout{};
      const double lr = schedule.rate(step);
      const auto [loss, norm] =
          training_step.run(p, batch, labeled.labels, dropout, lr, o.max_grad_norm, mask, hooks.on_gradients);
      ++step;
      result.seconds += seconds_since(start);
      result.examples += batch.batch;
      result.padded_tokens += batch.batch * batch.tokens;
      for (int32_t len : batch.lengths) result.tokens += len;
      const double epoch_done = static_cast<double>(epoch) + static_cast<double>(bi + 1) / static_cast<double>(batches.size());
      result.steps.push_back({step, epoch_done, loss, lr, norm});
      bar.set_detail(fmt::format("loss {:.4f}  lr {:.2e}  {:.0f} tok/s", loss, lr, result.tokens_per_second()));
      bar.advance(1);
      if (hooks.after_step) hooks.after_step(p, step);
      const bool epoch_end = (step % steps_per_epoch) == 0;
      const bool eval_now = o.eval_steps > 0 ? step % o.eval_steps == 0 : epoch_end;
      if (hooks.evaluate && (eval_now || step == last_step)) hooks.evaluate(p, step, epoch_done);
    }
  }
  bar.finish();
  return result;
}

}  // namespace squish
