// A pruning mask held through training (trainer.h): masked weights end exactly +0.0f (bit pattern,
// not -0.0f), unmasked ones train, the gradients the hooks see are the model's true (unmasked) ones,
// and AdamW itself never moves an entry whose gradients were all masked.
#include <gtest/gtest.h>

#include <cstring>

#include "prune/mask.h"
#include "tiny_train_fixture.h"
#include "train/adamw.h"

namespace squish {
namespace {

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

struct Pruned {
  std::unique_ptr<TrainableClassifier> model = testing_support::tiny_train_classifier();
  ParameterBuffer& values = model->parameters();
  std::vector<int> prunable = prunable_tensors(values.layout(), {});
  ParameterBuffer mask = full_mask(values.shared_layout());
  Pruned() { global_magnitude_prune(mask, values, prunable, 0.5); }
};

TEST(MasksHeld, MaskedWeightsStayPositiveZeroAndTheRestTrain) {
  Pruned x;
  const ParameterBuffer initial = x.values;
  TrainerOptions o;
  o.epochs = 1;
  o.batch_size = 8;
  o.lr = 1e-3;
  o.progress = false;  // dropout on (the config's), weight decay 0.01: both would move a masked weight
  int64_t masked_nonzero_gradients = 0, steps_seen = 0;
  TrainerHooks hooks;
  hooks.on_gradients = [&](const TrainableClassifier&, const ParameterBuffer& grads) {
    for (int t : x.prunable)
      for (int64_t i = 0; i < grads.layout().tensor(t).numel(); ++i)
        masked_nonzero_gradients += x.mask.data(t)[i] == 0.0f && grads.data(t)[i] != 0.0f;
  };
  hooks.after_step = [&](const TrainableClassifier& model, int64_t) {
    ++steps_seen;
    const ParameterBuffer& now = model.parameters();
    for (int t : x.prunable)
      for (int64_t i = 0; i < now.layout().tensor(t).numel(); ++i)
        if (x.mask.data(t)[i] == 0.0f) {
          ASSERT_EQ(bits(now.data(t)[i]), 0u) << now.layout().tensor(t).name;
        }
  };
  train_classifier(*x.model, testing_support::synthetic_training_set(40, 5), o, &x.mask, hooks);
  EXPECT_EQ(steps_seen, 5);
  // The hook sees the backward's gradient, before the mask: pruned weights still have gradients.
  EXPECT_GT(masked_nonzero_gradients, 1000);

  const SparsityReport report = sparsity_report(x.mask, x.prunable);
  int64_t zeros = 0, moved = 0, kept = 0;
  for (int t : x.prunable) {
    const int64_t n = x.values.layout().tensor(t).numel();
    for (int64_t i = 0; i < n; ++i) {
      if (x.mask.data(t)[i] == 0.0f) {
        EXPECT_EQ(bits(x.values.data(t)[i]), 0u) << x.values.layout().tensor(t).name << "[" << i << "]";
        zeros += bits(x.values.data(t)[i]) == 0u;
      } else {
        ++kept;
        moved += x.values.data(t)[i] != initial.data(t)[i];
      }
    }
  }
  EXPECT_EQ(zeros, report.zeros);
  EXPECT_EQ(zeros, report.total / 2);
  EXPECT_EQ(moved, kept);  // every surviving weight trained
}

TEST(MasksHeld, AdamWNeverMovesEntriesWhoseGradientsAreMasked) {
  // The trainer masks parameters after each step too; this is the optimizer alone, with decay on and
  // no mask applied to the parameters after the first: m = v = 0 there, so the update is 0/(0 + eps).
  Pruned x;
  x.values.apply_mask(x.mask);
  AdamW adamw(x.values.shared_layout(), AdamWOptions{.weight_decay = 0.01});
  std::vector<std::vector<int32_t>> labels;
  const std::vector<TokenBatch> batches = testing_support::golden_batches(labels);
  ParameterBuffer grads(x.values.shared_layout());
  for (size_t s = 0; s < batches.size(); ++s) {
    grads.set_zero();
    x.model->train_forward(batches[s], labels[s], TrainingDropout{});
    x.model->backward(batches[s], grads);
    grads.apply_mask(x.mask);
    adamw.step(x.values, grads, 1e-3);
  }
  for (int t : x.prunable)
    for (int64_t i = 0; i < x.values.layout().tensor(t).numel(); ++i)
      if (x.mask.data(t)[i] == 0.0f) {
        ASSERT_EQ(bits(x.values.data(t)[i]), 0u) << x.values.layout().tensor(t).name;
      }
}

}  // namespace
}  // namespace squish
