// HF Trainer's learning-rate schedule (transformers.get_linear_schedule_with_warmup, warm-up steps
// from TrainingArguments.get_warmup_steps) and torch.nn.utils.clip_grad_norm_, against those
// formulas written out here in double.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "train/schedule.h"

namespace squish {
namespace {

// transformers' lr_lambda, times the peak rate.
double hf_linear_rate(double lr, int64_t step, int64_t warmup, int64_t total) {
  if (step < warmup) return lr * static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
  return lr * std::max(0.0, static_cast<double>(total - step) / static_cast<double>(std::max<int64_t>(1, total - warmup)));
}

TEST(LinearSchedule, FollowsHfWarmupThenDecay) {
  const LinearSchedule s{2e-5, 3, 10};
  for (int64_t step : {0, 1, 2, 3, 4, 7, 9, 10, 12})
    EXPECT_DOUBLE_EQ(s.rate(step), hf_linear_rate(2e-5, step, 3, 10)) << step;
  EXPECT_EQ(s.rate(0), 0.0);  // HF's first step runs at rate 0
  EXPECT_DOUBLE_EQ(s.rate(3), 2e-5);
  EXPECT_DOUBLE_EQ(s.rate(1), 2e-5 / 3);
  EXPECT_DOUBLE_EQ(s.rate(6), 2e-5 * 4 / 7);
  EXPECT_EQ(s.rate(10), 0.0);
  EXPECT_EQ(s.rate(11), 0.0);  // past the end: clamped at 0, never negative
}

TEST(LinearSchedule, NoWarmupStartsAtThePeak) {
  const LinearSchedule s{1e-3, 0, 8};
  EXPECT_DOUBLE_EQ(s.rate(0), 1e-3);
  EXPECT_DOUBLE_EQ(s.rate(2), 1e-3 * 6 / 8);
  EXPECT_DOUBLE_EQ(s.rate(7), 1e-3 / 8);
  EXPECT_EQ(s.rate(8), 0.0);
}

TEST(LinearSchedule, WarmupOverEveryStepNeverDecays) {
  const LinearSchedule s{1e-3, 4, 4};
  for (int64_t step = 0; step < 4; ++step) EXPECT_DOUBLE_EQ(s.rate(step), 1e-3 * static_cast<double>(step) / 4) << step;
  EXPECT_EQ(s.rate(4), 0.0);  // HF: max(0, 0 / max(1, 0))
}

TEST(LinearSchedule, WarmupRatioRoundsUpAsTrainingArgumentsDoes) {
  EXPECT_EQ(LinearSchedule::with_warmup_ratio(1, 0.06, 100).warmup_steps, 6);
  EXPECT_EQ(LinearSchedule::with_warmup_ratio(1, 0.06, 17).warmup_steps, 2);  // 1.02 → 2
  // The product in double, then ceil, as Python computes math.ceil(100 * 0.07) = 8 (7.000000000000001)
  // and math.ceil(100 * 0.29) = 29 (28.999999999999996).
  EXPECT_EQ(LinearSchedule::with_warmup_ratio(1, 0.07, 100).warmup_steps, 8);
  EXPECT_EQ(LinearSchedule::with_warmup_ratio(1, 0.29, 100).warmup_steps, 29);
  EXPECT_EQ(LinearSchedule::with_warmup_ratio(1, 0.0, 30).warmup_steps, 0);
  EXPECT_EQ(LinearSchedule::with_warmup_ratio(1, 1.0, 30).warmup_steps, 30);
  const LinearSchedule s = LinearSchedule::with_warmup_ratio(5e-5, 0.25, 10);
  EXPECT_EQ(s.warmup_steps, 3);
  EXPECT_EQ(s.total_steps, 10);
  EXPECT_DOUBLE_EQ(s.lr, 5e-5);
}

struct Gradients {
  std::shared_ptr<ParameterLayout> layout = std::make_shared<ParameterLayout>();
  ParameterBuffer g;
  Gradients() {
    layout->add({"a.weight", {2}, 0, ParameterKind::kLinearWeight, 0});
    layout->add({"a.bias", {1}, 0, ParameterKind::kBias, 0});
    g = ParameterBuffer(layout);
    g.data(0)[0] = 3;
    g.data(0)[1] = 0;
    g.data(1)[0] = -4;  // across tensors (and their alignment padding): ‖g‖ = 5
  }
};

TEST(ClipGradients, ScalesToTheMaximumNormAsTorchDoes) {
  Gradients x;
  EXPECT_EQ(clip_gradients(x.g, 1.0), 5.0);
  const auto coef = static_cast<float>(1.0 / (5.0 + 1e-6));  // torch: max_norm / (norm + 1e-6)
  EXPECT_EQ(x.g.data(0)[0], 3.0f * coef);
  EXPECT_EQ(x.g.data(0)[1], 0.0f);
  EXPECT_EQ(x.g.data(1)[0], -4.0f * coef);
  EXPECT_NEAR(std::hypot(x.g.data(0)[0], x.g.data(1)[0]), 1.0, 1e-6);
}

TEST(ClipGradients, LeavesGradientsBelowTheMaximumUntouched) {
  Gradients x;
  const std::vector<float> before(x.g.all(), x.g.all() + x.g.floats());
  EXPECT_EQ(clip_gradients(x.g, 10.0), 5.0);
  EXPECT_EQ(std::memcmp(before.data(), x.g.all(), before.size() * sizeof(float)), 0);
  // At exactly the norm torch still multiplies by 5 / (5 + 1e-6) < 1.
  EXPECT_EQ(clip_gradients(x.g, 5.0), 5.0);
  EXPECT_EQ(x.g.data(0)[0], 3.0f * static_cast<float>(5.0 / (5.0 + 1e-6)));
}

}  // namespace
}  // namespace squish
