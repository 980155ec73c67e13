// SmoothQuant against a reference written from the paper's formula with transformers' modules
// (tools/make_smoothquant_goldens.py): the per-channel scales of every site (the Linears after each
// norm, and the feed-forward's second Linear) of a tiny Llama and OPT at alpha 0.5 and 0.8, the smoothed model's
// log-probabilities equal to the unsmoothed ones, and the refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/token_batches.h"
#include "core/error.h"
#include "core/file_util.h"
#include "model/load_model.h"
#include "quant/linear_inputs.h"
#include "quant/smoothquant.h"
#include "test_paths.h"

namespace squish {
namespace {

using nlohmann::json;

const json& golden() {
  static const json g = json::parse(read_maybe_gzip(test::fixtures_dir() + "/smoothquant/smoothquant.json.gz"));
  return g;
}

// The golden's sequences as one right-padded batch, every next token a target.
TokenBatch golden_batch(std::vector<LogprobTarget>& targets) {
  return test::next_token_batch(golden()["sequences"].get<std::vector<std::vector<int32_t>>>(), 0, targets);
}

TEST(SmoothQuant, ScalesMatchThePapersFormulaAndTheFunctionIsKept) {
  for (const json& c : golden()["cases"]) {
    SCOPED_TRACE(c["model"].get<std::string>() + " alpha " + c["alpha"].dump());
    auto model = load_model(test::fixtures_dir() + "/" + c["model"].get<std::string>());
    std::vector<LogprobTarget> targets;
    const TokenBatch batch = golden_batch(targets);
    // Each site's first reader before: column j was multiplied by s_j. A reader that is also a
    // producer (Llama's gate|up, whose up rows scale down_proj's input; OPT's fc1) had those rows
    // divided by the other site's scales too, which the check multiplies back.
    std::map<std::string, Tensor> reader_before;
    std::map<const Linear*, const SmoothableInput*> produced_by;
    const std::vector<SmoothableInput> sites = model->smoothable_inputs();
    for (const SmoothableInput& in : sites) {
      reader_before[in.name] = linear_dequantize(*in.readers.front());
      if (in.producer) produced_by[in.producer] = &in;
    }
    const SmoothQuantResult r = smooth_quant(*model, {&batch, 1}, c["alpha"].get<double>());
    EXPECT_EQ(r.inputs.size(), c["scales"].size());
    for (const SmoothableInput& in : sites) {
      SCOPED_TRACE(in.name);
      ASSERT_TRUE(c["scales"].contains(in.name));
      const auto want = c["scales"][in.name].get<std::vector<double>>();
      const Tensor& before = reader_before.at(in.name);
      const Tensor after = linear_dequantize(*in.readers.front());
      ASSERT_EQ(static_cast<int64_t>(want.size()), before.dim(1));
      const int64_t k = before.dim(1);
      for (int64_t j = 0; j < k; ++j) {
        int64_t largest = 0;  // the column's largest weight gives the ratio most precisely
        for (int64_t row = 0; row < before.dim(0); ++row)
          if (std::fabs(before.data()[row * k + j]) > std::fabs(before.data()[largest * k + j])) largest = row;
        double got = static_cast<double>(after.data()[largest * k + j]) / before.data()[largest * k + j];
        if (const auto p = produced_by.find(in.readers.front()); p != produced_by.end()) {
          const int64_t at = largest - p->second->first_row;
          if (at >= 0 && at < p->second->readers.front()->in_features())
            got *= c["scales"][p->second->name][static_cast<size_t>(at)].get<double>();
        }
        ASSERT_NEAR(got, want[static_cast<size_t>(j)], 1e-5 * want[static_cast<size_t>(j)]) << "channel " << j;
      }
    }
    std::vector<double> got;
    model->target_logprobs(batch, targets, got);
    size_t k = 0;
    for (const json& sequence : c["logprobs_after"])
      for (const json& want : sequence) ASSERT_NEAR(got.at(k++), want.get<double>(), 2e-5) << k;
    EXPECT_EQ(k, got.size());
  }
}

TEST(SmoothQuant, FlattensTheActivationsItMeasures) {
  auto model = load_model(test::fixtures_dir() + "/llama/tiny_untied");
  std::vector<LogprobTarget> targets;
  const TokenBatch batch = golden_batch(targets);
  const SmoothQuantResult r = smooth_quant(*model, {&batch, 1}, 0.5);
  ASSERT_EQ(r.inputs.size(), 6u);
  for (const SmoothedInput& n : r.inputs) {
    SCOPED_TRACE(n.producer);
    EXPECT_LT(n.activation_spread_after, n.activation_spread_before);
    EXPECT_GT(n.max_scale, n.min_scale);
  }
}

// The static W8A8 output error of reader weights w [n, k] on rows x [rows, k] with scales s, written
// here from the int8 convention (kernels/int8_scheme.h): activations u8 on the min/max grid of all
// rows after scaling, weights s8 symmetric per output row; Σ‖ΔY‖² / Σ‖Y‖².
double reference_static_error(const std::vector<float>& x, int64_t rows, const Tensor& w, const std::vector<float>& s) {
  const int64_t n = w.dim(0), k = w.dim(1);
  float lo = 0, hi = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < k; ++j) {
      lo = std::min(lo, x[static_cast<size_t>(r * k + j)] / s[static_cast<size_t>(j)]);
      hi = std::max(hi, x[static_cast<size_t>(r * k + j)] / s[static_cast<size_t>(j)]);
    }
  const float a_scale = (hi - lo) / 255.0f;
  const float zero = std::nearbyint(-lo / a_scale);
  std::vector<double> wq(static_cast<size_t>(n * k));
  for (int64_t i = 0; i < n; ++i) {
    float top = 0;
    for (int64_t j = 0; j < k; ++j) top = std::max(top, std::fabs(w.data()[i * k + j] * s[static_cast<size_t>(j)]));
    const float w_scale = top > 0 ? top / 127.0f : 1.0f;
    for (int64_t j = 0; j < k; ++j)
      wq[static_cast<size_t>(i * k + j)] =
          w_scale *
          std::clamp(std::nearbyint(w.data()[i * k + j] * s[static_cast<size_t>(j)] / w_scale), -127.0f, 127.0f);
  }
  double error = 0, norm = 0;
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<double> xq(static_cast<size_t>(k));
    for (int64_t j = 0; j < k; ++j) {
      const float q = std::clamp(
          std::nearbyint(x[static_cast<size_t>(r * k + j)] / s[static_cast<size_t>(j)] / a_scale) + zero, 0.0f, 255.0f);
      xq[static_cast<size_t>(j)] = (q - zero) * a_scale;
    }
    for (int64_t i = 0; i < n; ++i) {
      double y = 0, yq = 0;
      for (int64_t j = 0; j < k; ++j) {
        y += static_cast<double>(x[static_cast<size_t>(r * k + j)]) * w.data()[i * k + j];
        yq += xq[static_cast<size_t>(j)] * wq[static_cast<size_t>(i * k + j)];
      }
      error += (y - yq) * (y - yq);
      norm += y * y;
    }
  }
  return error / norm;
}

TEST(SmoothQuant, AutoChoosesEachActivationsAlphaByTheInt8OutputErrorAndKeepsTheFunction) {
  auto model = load_model(test::fixtures_dir() + "/llama/tiny_untied");
  std::vector<LogprobTarget> targets;
  const TokenBatch batch = golden_batch(targets);
  std::vector<double> before, after;
  model->target_logprobs(batch, targets, before);
  // The first site's input (layer 0's normed states, every valid token: fewer than auto's 1,024 rows,
  // so it scores them all) and its reader's weights, before smoothing.
  const SmoothableInput first = model->smoothable_inputs().front();
  const Linear* reader = first.readers.front();
  const Tensor w = linear_dequantize(*reader);
  std::vector<float> x;
  observe_linear_inputs(
      *model, {&batch, 1}, [&](const Linear& l) { return &l == reader; },
      [&](const Linear&, const float* rows, int64_t count) { x.insert(x.end(), rows, rows + count * w.dim(1)); });
  const int64_t rows = static_cast<int64_t>(x.size()) / w.dim(1);

  const SmoothQuantResult r = smooth_quant_auto(*model, {&batch, 1}, {});
  ASSERT_TRUE(r.automatic);
  ASSERT_EQ(r.inputs.size(), 6u);
  for (const SmoothedInput& n : r.inputs) {
    SCOPED_TRACE(n.producer);
    EXPECT_LE(n.output_error, n.output_error_unsmoothed);  // leaving it alone is a candidate
    if (n.smoothed)
      EXPECT_TRUE(n.alpha > 0 && n.alpha <= 1);
    else
      EXPECT_EQ(n.max_scale, 1.0f);
  }
  model->target_logprobs(batch, targets, after);
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) ASSERT_NEAR(after[i], before[i], 2e-5) << i;

  // The first site's choice is (within rounding of the two implementations) the best of its grid by
  // this file's own static int8 error, and its reported errors agree with it.
  const SmoothedInput& chosen = r.inputs.front();
  std::vector<float> a(static_cast<size_t>(w.dim(1)), 0.0f), wmax(a.size(), 0.0f);
  for (int64_t i = 0; i < rows; ++i)
    for (size_t j = 0; j < a.size(); ++j) a[j] = std::max(a[j], std::fabs(x[i * a.size() + j]));
  for (int64_t i = 0; i < w.dim(0); ++i)
    for (size_t j = 0; j < a.size(); ++j) wmax[j] = std::max(wmax[j], std::fabs(w.data()[i * a.size() + j]));
  const auto scales = [&](int g) {
    std::vector<float> s(a.size(), 1.0f);
    if (g > 0)
      for (size_t j = 0; j < s.size(); ++j)
        s[j] = std::max(static_cast<float>(std::pow(a[j], g / 20.0) / std::pow(wmax[j], 1.0 - g / 20.0)), 1e-5f);
    return s;
  };
  double best = INFINITY;
  for (int g = 0; g <= 20; ++g) best = std::min(best, reference_static_error(x, rows, w, scales(g)));
  const double at_choice = reference_static_error(
      x, rows, w, scales(chosen.smoothed ? static_cast<int>(std::lround(chosen.alpha * 20)) : 0));
  EXPECT_LE(at_choice, best * 1.02);
  EXPECT_NEAR(chosen.output_error, at_choice, 0.02 * at_choice);
  EXPECT_NEAR(chosen.output_error_unsmoothed, reference_static_error(x, rows, w, scales(0)), 0.02 * at_choice);
}

TEST(SmoothQuant, RefusesPostNormEncodersAndBadAlpha) {
  std::vector<LogprobTarget> targets;
  const TokenBatch batch = golden_batch(targets);
  auto bert = load_model(test::fixtures_dir() + "/tiny_bert");
  try {
    smooth_quant(*bert, {&batch, 1}, 0.5);
    FAIL() << "a post-norm encoder was smoothed";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("residual stream"), std::string::npos) << e.what();
  }
  auto llama = load_model(test::fixtures_dir() + "/llama/tiny_untied");
  EXPECT_THROW(smooth_quant(*llama, {&batch, 1}, 1.5), UsageError);
}

}  // namespace
}  // namespace squish
