// Every classifier in shared/models quantized to static W8A8 by squish, against a PyTorch fake-quant
// twin that used the same scales (tools/make_static_goldens.py): the calibration lands on the same
// grids, and the int8 model's logits match the twin's.
//
// The tolerance, derived: both compute the same quantized network, but their fp32 sums run in
// different orders (oneDNN vs PyTorch), leaving ~1e-6 relative differences in every activation.
// An activation within that distance of a rounding boundary of its u8 grid is rounded to
// neighbouring codes by the two: a flip of one step (range / 255) in one input of one Linear. With
// ~10^5 quantized activations per example and steps of ~0.01–0.05, a MiniLM example sees a few
// flips, each moving a logit by ~step × |w| (~1e-3) before the layers above amplify it. So most
// logits agree to ~1e-6 and a tail differs by up to ~0.1 (measured: max 0.13, median 1e-6 over 64
// examples per model; MRPC's longer pairs see more flips, median 1.7e-3). A wrong scale or zero
// point moves every example by about as much as quantization itself does, which the fp32 golden
// measures (fp32 vs the twin: median 0.016–0.04, max 0.35–0.8 for MiniLM). So the test asks that
// squish be much closer to its twin than fp32 is:
//   median |Δ| < 0.2 × median |fp32 − twin|,  max |Δ| < 0.5 × max |fp32 − twin|,
// and the same prediction on >= 95% of examples.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/file_util.h"
#include "eval/quantize_pipeline.h"
#include "eval/runner.h"
#include "io/datasets/dataset.h"
#include "io/safetensors.h"
#include "io/tokenizer/tokenizer.h"
#include "model/load_model.h"
#include "model/real_models.h"
#include "test_paths.h"

namespace squish {
namespace {

constexpr double kMedianShare = 0.2, kMaxShare = 0.5, kSamePredictions = 0.95;

struct Spread {
  double median, max;
};

// Per example the largest |a - b| over its logits; their median and max.
Spread spread(const std::vector<std::vector<double>>& a, const nlohmann::json& b) {
  std::vector<double> worst;
  for (size_t i = 0; i < a.size(); ++i) {
    double w = 0;
    for (size_t c = 0; c < a[i].size(); ++c) w = std::max(w, std::fabs(a[i][c] - b[i][c].get<double>()));
    worst.push_back(w);
  }
  std::sort(worst.begin(), worst.end());
  return {worst[worst.size() / 2], worst.back()};
}

class StaticRealModel : public ::testing::TestWithParam<std::string> {};


TEST_P(StaticRealModel, MatchesItsPyTorchFakeQuantTwin) {
  const std::string name = GetParam();
  const auto golden = test::static_golden(name);
  const auto& g = golden["quantize"];
  QuantizeRequest q;
  q.model_dir = test::model_dir(name);
  q.output_dir = test::temp_dir("static") + "/q";
  q.task = g["task"];
  q.data_dir = test::shared_dir() + "/data";
  q.mode = "static";
  q.observer.kind = parse_observer(g["observer"].get<std::string>());
  q.calib_size = g["calib_size"];
  q.seed = g["seed"];
  q.max_length = g["max_length"];
  q.progress = false;
  run_quantize(q);

  // The same calibration: every input grid as the golden used it.
  const TensorMap stored = read_safetensors(q.output_dir + "/model.safetensors");
  for (const auto& [module, grid] : golden["input_grids"].items()) {
    float scale;
    std::memcpy(&scale, stored.at(module + ".input_scale").data, 4);
    const int zero = *static_cast<const uint8_t*>(stored.at(module + ".input_zero_point").data);
    EXPECT_NEAR(scale, grid["scale"].get<double>(), 1e-5 * grid["scale"].get<double>()) << module;
    EXPECT_NEAR(zero, grid["zero_point"].get<int>(), 1) << module;
  }

  const auto model = load_model(q.output_dir);
  const auto tokenizer = load_tokenizer(q.output_dir);
  Dataset dev = load_dataset(parse_task(q.task), Split::kDev, q.data_dir);
  dev.examples.resize(golden["examples"].get<size_t>());
  // One example at a time, as the twin ran: no padding, the same rows in every GEMM.
  const Predictions p = predict_logits(*model, encode_dataset(*tokenizer, dev, q.max_length), tokenizer->pad_id(), 1, false);
  const nlohmann::json& twin = golden["logits"];
  ASSERT_EQ(p.logits.size(), twin.size());
  std::vector<std::vector<double>> squish_logits, fp32_logits;
  const nlohmann::json fp32_golden = test::model_golden(name);
  const nlohmann::json& fp32 = fp32_golden[q.task + "_dev"]["logits"];
  size_t same = 0;
  for (size_t i = 0; i < p.logits.size(); ++i) {
    squish_logits.emplace_back(p.logits[i].begin(), p.logits[i].end());
    fp32_logits.push_back(fp32[i].get<std::vector<double>>());
    const std::vector<double> want = twin[i].get<std::vector<double>>();
    same += std::max_element(p.logits[i].begin(), p.logits[i].end()) - p.logits[i].begin() ==
            std::max_element(want.begin(), want.end()) - want.begin();
  }
  const Spread ours = spread(squish_logits, twin), quantization = spread(fp32_logits, twin);
  EXPECT_LT(ours.median, kMedianShare * quantization.median);
  EXPECT_LT(ours.max, kMaxShare * quantization.max);
  EXPECT_GE(static_cast<double>(same), kSamePredictions * static_cast<double>(p.logits.size()));
  std::printf("%s: |squish - twin| median %.3g max %.3g; |fp32 - twin| median %.3g max %.3g; %zu/%zu same predictions\n",
              name.c_str(), ours.median, ours.max, quantization.median, quantization.max, same, p.logits.size());
}

INSTANTIATE_TEST_SUITE_P(Shared, StaticRealModel, ::testing::ValuesIn(test::classifier_models()), test::model_param_name);

}  // namespace
}  // namespace squish
