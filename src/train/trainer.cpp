#include "train/trainer.h"

#include <fmt/format.h>

#include "core/elapsed.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/random.h"
#include "train/adamw.h"
#include "train/length_grouped_batches.h"
#include "train/schedule.h"

namespace squish {

int64_t training_steps(int64_t examples, int64_t batch_size, int64_t epochs) {
  return (examples + batch_size - 1) / batch_size * epochs;
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
  const int64_t last_step = o.max_steps > 0 ? std::min(o.max_steps, result.total_steps) : result.total_steps;
  const LinearSchedule schedule = LinearSchedule::with_warmup_ratio(o.lr, o.warmup_ratio, result.total_steps);
  AdamW optimizer(p.values.shared_layout(), AdamWOptions{.weight_decay = o.weight_decay});
  ParameterBuffer grads(p.values.shared_layout());
  BertTrainActivations act;
  if (mask) p.values.apply_mask(*mask);

  ProgressBar bar("train", o.progress ? last_step : 0, "steps");
  int64_t step = 0;
  for (int64_t epoch = 0; epoch < o.epochs && step < last_step; ++epoch) {
    const auto batches = length_grouped_batches(lengths, o.batch_size, random_stream(o.seed, static_cast<uint64_t>(epoch)));
    for (size_t bi = 0; bi < batches.size() && step < last_step; ++bi) {
      const Clock::time_point start = Clock::now();
      const TokenBatch batch = make_token_batch(data.encodings, batches[bi], data.pad_id);
      std::vector<int32_t> labels;
      for (size_t i : batches[bi]) labels.push_back(data.labels[i]);
      const BertDropout dropout = o.dropout ? BertDropout::from_config(p.config, o.seed, static_cast<uint64_t>(step))
                                            : BertDropout{};
      grads.set_zero();
      const double loss = bert_train_forward(p, batch, labels, dropout, act);
      bert_backward(p, batch, act, grads);
      if (hooks.on_gradients) hooks.on_gradients(p, grads);
      if (mask) grads.apply_mask(*mask);
      const double norm = clip_gradients(grads, o.max_grad_norm);
      const double lr = schedule.rate(step);
      optimizer.step(p.values, grads, lr);
      if (mask) p.values.apply_mask(*mask);
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
