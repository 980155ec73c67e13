// AWQ's scale search on tiny Llama and OPT checkpoints: every activation a quantized reader sees is
// searched, the chosen scales never do worse than round-to-nearest on the search's own objective
// (α = 0 is RTN), folding them in leaves the fp32 model's log-probabilities unchanged, and the
// objective it reports is the output error of the quantized readers recomputed independently.
#include <gtest/gtest.h>

#include <cmath>

#include "common/token_batches.h"
#include "core/error.h"
#include "model/load_model.h"
#include "quant/awq.h"
#include "quant/bit_plan.h"
#include "test_paths.h"

namespace squish {
namespace {

const std::vector<std::vector<int32_t>> kSequences = {
    {1, 5, 9, 13, 17, 21, 2, 40, 41, 42, 43}, {1, 6, 10, 2}, {3, 7, 11, 40, 41, 42, 43, 44, 45, 99, 100, 101}};

BitPlan int4_plan(SequenceModel& model) {
  BitPlan plan;
  for (const Linear* l : model.linears()) plan.linears[l->name] = "int4-g16";
  return plan;
}

TEST(Awq, NeverWorseThanRoundToNearestAndKeepsTheFunction) {
  for (const std::string name : {"llama/tiny_untied", "llama/tiny_tied", "opt/tiny"}) {
    SCOPED_TRACE(name);
    auto model = load_model(test::fixtures_dir() + "/" + name);
    std::vector<LogprobTarget> targets;
    const TokenBatch batch = test::next_token_batch(kSequences, 0, targets);
    std::vector<double> before, after;
    model->target_logprobs(batch, targets, before);
    const BitPlan plan = int4_plan(*model);
    const std::vector<AwqChoice> choices = awq_scale(*model, {&batch, 1}, plan);
    EXPECT_EQ(choices.size(), model->smoothable_inputs().size());
    int scaled = 0;
    for (const AwqChoice& c : choices) {
      SCOPED_TRACE(c.producer);
      EXPECT_LE(c.awq_error, c.rtn_error);
      EXPECT_GT(c.rtn_error, 0.0);  // 4-bit groups do lose something
      EXPECT_GE(c.alpha, 0.0);
      EXPECT_LT(c.alpha, 1.0);
      scaled += c.alpha > 0;
    }
    EXPECT_GT(scaled, 0);
    model->target_logprobs(batch, targets, after);
    ASSERT_EQ(after.size(), before.size());
    for (size_t i = 0; i < before.size(); ++i) ASSERT_NEAR(after[i], before[i], 1e-4) << i;
  }
}

TEST(Awq, RefusesAPostNormEncoder) {
  auto bert = load_model(test::fixtures_dir() + "/tiny_bert");
  const TokenBatch batch = test::small_batch();
  BitPlan plan;
  for (const Linear* l : bert->linears()) plan.linears[l->name] = "int8-dynamic";
  EXPECT_THROW(awq_scale(*bert, {&batch, 1}, plan), UsageError);
}

// After the search, the plan's rounding of the scaled weights gives the error AWQ reported: the
// readers' outputs on the calibration rows measured against the fp32 model's own.
TEST(Awq, ReportedErrorIsTheQuantizedReadersOutputError) {
  auto fp32 = load_model(test::fixtures_dir() + "/llama/tiny_untied");
  auto model = load_model(test::fixtures_dir() + "/llama/tiny_untied");
  std::vector<LogprobTarget> targets;
  const TokenBatch batch = test::next_token_batch(kSequences, 0, targets);
  const BitPlan plan = int4_plan(*model);
  const std::vector<AwqChoice> choices = awq_scale(*model, {&batch, 1}, plan);
  // The first site: layer 0's input norm feeding q|k|v, whose input is the embeddings' (RMS-normed).
  ASSERT_EQ(choices.front().producer, "model.layers.0.input_layernorm");
  const auto capture = [&](SequenceModel& m, const std::string& linear) {
    std::vector<float> x;
    Tap tap;
    tap.fn = [&](const TapPoint& p, const TapView& v) {
      if (p.site != TapSite::kLinearInput || p.linear->name != linear) return;
      for (int64_t r = 0; r < v.rows; ++r)
        if (v.valid_row(r)) x.insert(x.end(), v.data + r * v.cols, v.data + (r + 1) * v.cols);
    };
    ForwardOptions o;
    o.tap = &tap;
    m.trace(batch, o);
    return x;
  };
  const std::string qkv = "model.layers.0.self_attn.qkv_proj";
  const std::vector<float> x_fp32 = capture(*fp32, qkv), x_scaled = capture(*model, qkv);
  apply_bit_plan(*model, plan);
  const Linear* reference = nullptr;
  const Linear* quantized = nullptr;
  for (const Linear* l : fp32->linears()) if (l->name == qkv) reference = l;
  for (const Linear* l : model->linears()) if (l->name == qkv) quantized = l;
  const int64_t k = reference->in_features(), n = reference->out_features(), rows = static_cast<int64_t>(x_fp32.size()) / k;
  const Tensor w = linear_dequantize(*reference), q = linear_dequantize(*quantized);
  double error = 0, norm = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < n; ++i) {
      double y = 0, yq = 0;
      for (int64_t j = 0; j < k; ++j) {
        y += static_cast<double>(x_fp32[static_cast<size_t>(r * k + j)]) * w.data()[i * k + j];
        yq += static_cast<double>(x_scaled[static_cast<size_t>(r * k + j)]) * q.data()[i * k + j];
      }
      error += (y - yq) * (y - yq);
      norm += y * y;
    }
  EXPECT_NEAR(error / norm, choices.front().awq_error, 1e-3 * choices.front().awq_error + 1e-9);
}

}  // namespace
}  // namespace squish
