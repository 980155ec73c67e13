// The quantization passes on the tiny fixture model: which Linears each pass quantizes, calibration
// seeing exactly the activations inference quantizes (padding left out), and the fallback walking
// its ranking until the metric is within the drop.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>

#include "common/token_batches.h"
#include "model/common/int8_linear_weights.h"
#include "model/common/tap.h"
#include "model/load_model.h"
#include "quant/calibration.h"
#include "quant/fallback.h"
#include "quant/quantize_model.h"
#include "test_paths.h"

namespace squish {
namespace {

using test::padded_batch;

std::unique_ptr<SequenceModel> tiny() { return load_model(test::fixtures_dir() + "/tiny_bert"); }

bool is_head(const Linear& l) { return l.role == LinearRole::kPooler || l.role == LinearRole::kClassifier; }

// Min-max calibration of the Linears `options` quantizes, on one batch.
CalibrationResult calibrate_defaults(SequenceModel& model, const TokenBatch& batch, const QuantizeOptions& options) {
  return calibrate(model, {&batch, 1}, {}, kActivationQmax, [&](const Linear& l) { return quantized_by_default(l, options); });
}

TEST(QuantizeDynamic, EncoderLinearsOnlyUnlessTheHeadIsAsked) {
  auto model = tiny();
  EXPECT_EQ(quantize_dynamic(*model, {}), 2 * 4);
  for (const Linear* l : model->linears()) EXPECT_EQ(l->weights->format(), is_head(*l) ? "f32" : "int8-dynamic") << l->name;
  auto all = tiny();
  EXPECT_EQ(quantize_dynamic(*all, {WeightGranularity::kPerChannel, true}), 2 * 4 + 2);
  EXPECT_LT(all->resident_bytes(), model->resident_bytes());
}

TEST(Calibration, SeesTheLinearInputsWithoutPadding) {
  auto model = tiny();
  // Layer 0's QKV reads the embeddings' output: its min-max range must be that of the valid rows.
  float lo = std::numeric_limits<float>::max(), hi = std::numeric_limits<float>::lowest();
  Tap tap;
  tap.fn = [&](const TapPoint& p, const TapView& v) {
    if (p.site != TapSite::kEmbeddings) return;
    for (int64_t r = 0; r < v.rows; ++r)
      if (v.valid_row(r))
        for (int64_t c = 0; c < v.cols; ++c) {
          lo = std::min(lo, v.data[r * v.cols + c]);
          hi = std::max(hi, v.data[r * v.cols + c]);
        }
  };
  ForwardOptions options;
  options.tap = &tap;
  std::vector<float> logits;
  model->forward(padded_batch(0), logits, options);
  const auto all = [](const Linear&) { return true; };
  const TokenBatch batch = padded_batch(0);
  const CalibrationResult c = calibrate(*model, {&batch, 1}, {}, kActivationQmax, all);
  const ActivationRange qkv = c.input_ranges.at("encoder.layer.0.attention.self.qkv");
  EXPECT_EQ(qkv.lo, lo);
  EXPECT_EQ(qkv.hi, hi);
  EXPECT_EQ(c.tokens, 11);
  EXPECT_EQ(c.input_ranges.size(), model->linears().size());
  // Whatever the padding holds, the ranges do not move.
  const TokenBatch other_padding = padded_batch(3);
  const CalibrationResult c2 = calibrate(*model, {&other_padding, 1}, {}, kActivationQmax, all);
  for (const auto& [name, r] : c.input_ranges) {
    EXPECT_EQ(c2.input_ranges.at(name).lo, r.lo) << name;
    EXPECT_EQ(c2.input_ranges.at(name).hi, r.hi) << name;
  }
}

TEST(QuantizeStatic, EveryDefaultLinearGetsItsCalibratedGrid) {
  auto model = tiny();
  const TokenBatch batch = padded_batch(0);
  const QuantizeOptions options;
  const CalibrationResult c = calibrate_defaults(*model, batch, options);
  EXPECT_EQ(c.input_ranges.size(), 8u);
  EXPECT_EQ(quantize_static(*model, options, c.input_ranges), 8);
  for (const Linear* l : model->linears()) {
    EXPECT_EQ(l->weights->format(), is_head(*l) ? "f32" : "int8-static") << l->name;
    if (is_head(*l)) continue;
    const ActivationRange r = c.input_ranges.at(l->name);
    const U8Params want = u8_params(r.lo, r.hi, kActivationQmax);
    EXPECT_EQ(int8_weights_of(*l)->static_input()->scale, want.scale);
    EXPECT_EQ(int8_weights_of(*l)->static_input()->zero_point, want.zero_point);
  }
  std::vector<float> logits;
  model->forward(batch, logits);
  for (float v : logits) EXPECT_TRUE(std::isfinite(v));
}

TEST(Fallback, WalksTheRankingUntilTheDropIsMet) {
  auto model = tiny();
  const TokenBatch batch = padded_batch(0);
  const QuantizeOptions options;
  const CalibrationResult c = calibrate_defaults(*model, batch, options);
  std::map<std::string, LinearVariants> variants;
  for (Linear* l : model->mutable_linears()) {
    if (!quantized_by_default(*l, options)) continue;
    variants.emplace(l->name, LinearVariants{*l, quantize_linear(*l, options),
                                             quantize_linear(*l, options, c.input_ranges.at(l->name))});
  }
  measure_layer_errors(*model, {&batch, 1}, variants);
  for (const auto& [name, v] : variants) {
    EXPECT_GT(v.static_error, 0) << name;
    EXPECT_GT(v.dynamic_error, 0) << name;
    EXPECT_LT(v.dynamic_error, 0.05) << name;
  }
  // A metric that loses one point per static Linear and half a point per dynamic one, within 2.6 points.
  const auto metric = [](SequenceModel& m) {
    double points = 0;
    for (const Linear* l : m.linears())
      points += l->weights->format() == "int8-static" ? 1.0 : l->weights->format() == "int8-dynamic" ? 0.5 : 0.0;
    return 1.0 - points / 100.0;
  };
  const double fp32_metric = metric(*model);
  for (Linear* l : model->mutable_linears())
    if (variants.count(l->name)) *l = *variants.at(l->name).static_int8;
  const FallbackResult f = accuracy_fallback(*model, variants, 2.6, fp32_metric, metric);
  EXPECT_DOUBLE_EQ(f.fp32_metric, 1.0);
  EXPECT_DOUBLE_EQ(f.start_metric, 0.92);
  EXPECT_TRUE(f.met);
  // Every static → dynamic step saves 0.5 points: 8 static (8 points) → all dynamic is 4 points,
  // still over 2.6, so all 8 go to dynamic and then 3 go to fp32 (4 - 1.5 = 2.5).
  ASSERT_EQ(f.steps.size(), 11u);
  EXPECT_NEAR(f.final_metric, 0.975, 1e-12);
  // Worst static error first, as measured.
  std::vector<std::pair<double, std::string>> by_error;
  for (const auto& [name, v] : variants) by_error.push_back({v.static_error, name});
  std::sort(by_error.rbegin(), by_error.rend());
  EXPECT_EQ(f.steps[0].linear, by_error[0].second);
  EXPECT_EQ(f.steps[0].to, "int8-dynamic");
  EXPECT_EQ(f.steps[8].from, "int8-dynamic");
  EXPECT_EQ(f.steps[8].to, "f32");
  int fp32 = 0;
  for (const Linear* l : model->linears()) fp32 += l->weights->format() == "f32" && !is_head(*l);
  EXPECT_EQ(fp32, 3);
}

}  // namespace
}  // namespace squish
