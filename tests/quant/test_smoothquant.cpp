// SmoothQuant against a reference written from the paper's formula with transformers' modules
// (tools/make_smoothquant_goldens.py): the per-channel scales of every site (the Linears after each
// norm, and the feed-forward's second Linear) of a tiny Llama and OPT at alpha 0.5 and 0.8, the smoothed model's
// log-probabilities equal to the unsmoothed ones, and the refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "common/token_batches.h"
#include "core/error.h"
#include "core/file_util.h"
#include "model/load_model.h"
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
