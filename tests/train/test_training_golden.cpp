// The BERT training step against PyTorch: loss, logits and every parameter's gradient of one batch,
// and every parameter after three AdamW steps with clipping and HF's warm-up schedule, on the tiny
// fixture model with dropout off (goldens: tools/make_training_golden.py, torch 2.15 /
// transformers 5.24, tests/fixtures/README.md).
// Tolerances: PyTorch's own fp32 run differs from its fp64 run by 4.9e-7 (logits), 3.2e-7
// (gradients, 1.3e-6 relative to a tensor's largest entry) and 1.7e-7 (parameters after 3 steps);
// squish sums in other orders, so each bound is ~10× PyTorch's own fp32 error.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "io/weights_file.h"
#include "model/bert/bert_checkpoint.h"
#include "model/bert/bert_training.h"
#include "test_paths.h"
#include "tiny_train_fixture.h"
#include "train/adamw.h"
#include "train/schedule.h"

namespace squish {
namespace {

const std::string kGolden = std::string(SQUISH_FIXTURES_DIR) + "/training_golden";

std::vector<float> floats(const RawTensor& t) {
  EXPECT_EQ(t.dtype, DType::kF32);
  std::vector<float> v(t.nbytes / sizeof(float));
  std::memcpy(v.data(), t.data, t.nbytes);
  return v;
}

// A golden tensor in squish's layout: HF names carry "bert." outside the classifier, and the fused
// QKV weight/bias is query|key|value stacked by rows.
std::vector<float> golden_tensor(const TensorMap& golden, const std::string& name) {
  const std::string prefixed = name.starts_with("classifier") ? name : "bert." + name;
  const auto qkv = prefixed.find("attention.self.qkv");
  if (qkv == std::string::npos) return floats(golden.at(prefixed));
  std::vector<float> out;
  for (const char* part : {"query", "key", "value"}) {
    std::string n = prefixed;
    n.replace(qkv, std::string("attention.self.qkv").size(), std::string("attention.self.") + part);
    const std::vector<float> p = floats(golden.at(n));
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

bool is_rounding_noise(const std::string& name) {  // the key bias: exact gradient 0 (steps.json says why)
  return name.find("attention.self.qkv.bias") != std::string::npos;
}

struct Fixture {
  BertParameters p = testing_support::tiny_train_parameters();
  std::vector<std::vector<int32_t>> labels;
  std::vector<TokenBatch> batches = testing_support::golden_batches(labels);
};

TEST(TrainingGolden, LossLogitsAndEveryGradientMatchPyTorch) {
  Fixture f;
  const WeightsFile golden = read_weights_file(kGolden + "/grads.safetensors");
  BertTrainActivations act;
  const float loss = bert_train_forward(f.p, f.batches[0], f.labels[0], BertDropout{}, act);
  EXPECT_NEAR(loss, floats(golden.tensors.at("loss"))[0], 2e-6);
  const std::vector<float> logits = floats(golden.tensors.at("logits"));
  ASSERT_EQ(act.logits.size(), logits.size());
  for (size_t i = 0; i < logits.size(); ++i) EXPECT_NEAR(act.logits[i], logits[i], 5e-6) << i;

  ParameterBuffer grads(f.p.values.shared_layout());
  bert_backward(f.p, f.batches[0], act, grads);
  const ParameterLayout& layout = f.p.values.layout();
  for (int t = 0; t < static_cast<int>(layout.tensors().size()); ++t) {
    const ParameterTensor& info = layout.tensor(t);
    const std::vector<float> want = golden_tensor(golden.tensors, info.name);
    ASSERT_EQ(static_cast<int64_t>(want.size()), info.numel()) << info.name;
    float scale = 0;
    for (float v : want) scale = std::max(scale, std::fabs(v));
    const float* got = grads.data(t);
    for (int64_t i = 0; i < info.numel(); ++i) {
      // the key bias's true gradient is 0; both engines give rounding noise near 1e-8
      const bool key_bias = is_rounding_noise(info.name) && i >= info.numel() / 3 && i < 2 * info.numel() / 3;
      const float tol = key_bias ? 1e-6f : 1e-5f * std::max(1.0f, scale);
      ASSERT_NEAR(got[i], want[static_cast<size_t>(i)], tol) << info.name << "[" << i << "]";
    }
  }
  // Gradient accumulation: a second backward adds the same gradient again.
  const std::vector<float> once(grads.all(), grads.all() + grads.floats());
  bert_backward(f.p, f.batches[0], act, grads);
  for (int64_t i = 0; i < grads.floats(); i += 97) EXPECT_FLOAT_EQ(grads.all()[i], 2 * once[static_cast<size_t>(i)]);
}

TEST(TrainingGolden, ThreeAdamWStepsWithClippingAndWarmupMatchPyTorch) {
  Fixture f;
  const ParameterBuffer initial = f.p.values;
  const nlohmann::json steps = nlohmann::json::parse(std::ifstream(kGolden + "/steps.json")).at("steps");
  const LinearSchedule schedule{1e-3, 2, 10};
  AdamW adamw(f.p.values.shared_layout(), AdamWOptions{.weight_decay = 0.01});
  ParameterBuffer grads(f.p.values.shared_layout());
  BertTrainActivations act;
  for (int s = 0; s < 3; ++s) {
    grads.set_zero();
    const float loss = bert_train_forward(f.p, f.batches[static_cast<size_t>(s)], f.labels[static_cast<size_t>(s)],
                                          BertDropout{}, act);
    EXPECT_NEAR(loss, steps[s].at("loss").get<double>(), 2e-6) << "step " << s;
    bert_backward(f.p, f.batches[static_cast<size_t>(s)], act, grads);
    const double norm = clip_gradients(grads, 1.0);
    EXPECT_NEAR(norm, steps[s].at("grad_norm").get<double>(), 1e-5) << "step " << s;
    EXPECT_DOUBLE_EQ(schedule.rate(s), steps[s].at("lr").get<double>());
    adamw.step(f.p.values, grads, schedule.rate(s));
  }
  const WeightsFile golden = read_weights_file(kGolden + "/after3.safetensors");
  const ParameterLayout& layout = f.p.values.layout();
  for (int t = 0; t < static_cast<int>(layout.tensors().size()); ++t) {
    const ParameterTensor& info = layout.tensor(t);
    const std::vector<float> want = golden_tensor(golden.tensors, info.name);
    for (int64_t i = 0; i < info.numel(); ++i) {
      const bool key_bias = is_rounding_noise(info.name) && i >= info.numel() / 3 && i < 2 * info.numel() / 3;
      if (key_bias)  // noise amplified by Adam: bounded by the sum of the step sizes
        ASSERT_LE(std::fabs(f.p.values.data(t)[i] - initial.data(t)[i]), 1.5e-3f) << info.name << "[" << i << "]";
      else
        ASSERT_NEAR(f.p.values.data(t)[i], want[static_cast<size_t>(i)], 2e-6f) << info.name << "[" << i << "]";
    }
  }
}

}  // namespace
}  // namespace squish
