// One and two AdamW steps on three-element tensors against adamw.h's formula evaluated in double:
// decoupled decay on weights only, bias corrections, eps outside the square root, and entries whose
// gradient is zero moving only by decay.
// Tolerance: squish updates in fp32 (as torch does), a handful of roundings per element, so each
// result is within a few ulps of the double value: 4 ulps of max(|p|, 1), 4.8e-7, while the terms
// checked move p by 1e-3 (decay) to 1e-2 (the step).
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>

#include "train/adamw.h"

namespace squish {
namespace {

constexpr double kLr = 1e-2, kDecay = 0.1, kBeta1 = 0.9, kBeta2 = 0.999, kEps = 1e-8;

struct Tensors {
  std::shared_ptr<ParameterLayout> layout = std::make_shared<ParameterLayout>();
  int weight, bias, layer_norm;
  Tensors() {
    weight = layout->add({"encoder.layer.0.intermediate.dense.weight", {3}, 0, ParameterKind::kLinearWeight, 0,
                          LinearRole::kFfnIn});
    bias = layout->add({"encoder.layer.0.intermediate.dense.bias", {3}, 0, ParameterKind::kBias, 0, LinearRole::kFfnIn});
    layer_norm = layout->add({"embeddings.LayerNorm.weight", {3}, 0, ParameterKind::kLayerNorm, -1});
  }
};

constexpr double kStart[3] = {0.5, -1.25, 2.0};
constexpr double kGrad[2][3] = {{0.1, -0.3, 0.0}, {-0.05, -0.2, 0.0}};

// adamw.h's update in double for one element over `steps` steps.
double reference(double p, int element, int steps, double weight_decay) {
  double m = 0, v = 0;
  for (int t = 1; t <= steps; ++t) {
    const double g = kGrad[t - 1][element];
    p *= 1 - kLr * weight_decay;
    m = kBeta1 * m + (1 - kBeta1) * g;
    v = kBeta2 * v + (1 - kBeta2) * g * g;
    const double bc1 = 1 - std::pow(kBeta1, t), bc2 = 1 - std::pow(kBeta2, t);
    p -= kLr / bc1 * m / (std::sqrt(v) / std::sqrt(bc2) + kEps);
  }
  return p;
}

void expect_steps_match(double weight_decay, int steps) {
  const Tensors x;
  ParameterBuffer p(x.layout), g(x.layout);
  for (int t : {x.weight, x.bias, x.layer_norm})
    for (int i = 0; i < 3; ++i) p.data(t)[i] = static_cast<float>(kStart[i]);
  AdamW adamw(x.layout, AdamWOptions{.beta1 = kBeta1, .beta2 = kBeta2, .eps = kEps, .weight_decay = weight_decay});
  for (int s = 0; s < steps; ++s) {
    for (int t : {x.weight, x.bias, x.layer_norm})
      for (int i = 0; i < 3; ++i) g.data(t)[i] = static_cast<float>(kGrad[s][i]);
    adamw.step(p, g, kLr);
  }
  EXPECT_EQ(adamw.steps(), steps);
  for (int i = 0; i < 3; ++i) {
    const double decayed = reference(kStart[i], i, steps, weight_decay), kept = reference(kStart[i], i, steps, 0.0);
    const auto tol = [](double v) { return 4 * FLT_EPSILON * std::max(1.0, std::fabs(v)); };
    EXPECT_NEAR(p.data(x.weight)[i], decayed, tol(decayed)) << "weight " << i;
    EXPECT_NEAR(p.data(x.bias)[i], kept, tol(kept)) << "bias " << i;  // HF: no decay on biases
    EXPECT_NEAR(p.data(x.layer_norm)[i], kept, tol(kept)) << "LayerNorm " << i;  // nor on LayerNorm
  }
}

TEST(AdamW, OneStepMatchesTheFormula) { expect_steps_match(0.0, 1); }
TEST(AdamW, OneStepWithWeightDecayMatchesTheFormula) { expect_steps_match(kDecay, 1); }
TEST(AdamW, TwoStepsWithWeightDecayMatchTheFormula) { expect_steps_match(kDecay, 2); }

TEST(AdamW, TheFirstStepMovesEachEntryByTheLearningRateAndZeroGradientsOnlyDecay) {
  // Bias-corrected, step one is lr·g/(|g| + eps·...) ≈ lr·sign(g) whatever g's size: the signature
  // of Adam that a missing bias correction breaks (it would give lr·0.1/sqrt(0.001) ≈ 3.2·lr).
  const Tensors x;
  ParameterBuffer p(x.layout), g(x.layout);
  for (int i = 0; i < 3; ++i) p.data(x.weight)[i] = p.data(x.bias)[i] = static_cast<float>(kStart[i]);
  for (int i = 0; i < 3; ++i) g.data(x.weight)[i] = g.data(x.bias)[i] = static_cast<float>(kGrad[0][i]);
  AdamW adamw(x.layout, AdamWOptions{.weight_decay = kDecay});
  adamw.step(p, g, kLr);
  EXPECT_NEAR(p.data(x.bias)[0], 0.5 - kLr, 1e-7);
  EXPECT_NEAR(p.data(x.bias)[1], -1.25 + kLr, 1e-7);
  EXPECT_EQ(p.data(x.bias)[2], 2.0f);                                       // g = 0, no decay: unmoved
  EXPECT_EQ(p.data(x.weight)[2], static_cast<float>(2.0 * (1 - kLr * kDecay)));  // g = 0: decay only
}

}  // namespace
}  // namespace squish
