// SmoothQuant against a reference written from the paper's formula with transformers' modules
// (tools/make_smoothquant_goldens.py): the per-channel scales of every pre-norm site of a tiny Llama
// and OPT at alpha 0.5 and 0.8, the smoothed model's log-probabilities equal to the unsmoothed ones,
// and the refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

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
  const auto sequences = golden()["sequences"].get<std::vector<std::vector<int32_t>>>();
  TokenBatch b;
  b.batch = static_cast<int64_t>(sequences.size());
  for (const auto& s : sequences) b.tokens = std::max<int64_t>(b.tokens, static_cast<int64_t>(s.size()));
  b.input_ids.assign(static_cast<size_t>(b.batch * b.tokens), 0);
  b.token_type_ids.assign(b.input_ids.size(), 0);
  targets.clear();
  for (size_t i = 0; i < sequences.size(); ++i) {
    std::copy(sequences[i].begin(), sequences[i].end(), b.input_ids.begin() + static_cast<int64_t>(i) * b.tokens);
    b.lengths.push_back(static_cast<int32_t>(sequences[i].size()));
    for (size_t t = 0; t + 1 < sequences[i].size(); ++t)
      targets.push_back({static_cast<int64_t>(i), static_cast<int64_t>(t), sequences[i][t + 1]});
  }
  return b;
}

TEST(SmoothQuant, ScalesMatchThePapersFormulaAndTheFunctionIsKept) {
  for (const json& c : golden()["cases"]) {
    SCOPED_TRACE(c["model"].get<std::string>() + " alpha " + c["alpha"].dump());
    auto model = load_model(test::fixtures_dir() + "/" + c["model"].get<std::string>());
    std::vector<LogprobTarget> targets;
    const TokenBatch batch = golden_batch(targets);
    std::map<std::string, AlignedVector<float>> norm_before;
    for (const SmoothableNorm& n : model->smoothable_norms()) norm_before[n.name] = n.weight->values;
    const SmoothQuantResult r = smooth_quant(*model, {&batch, 1}, c["alpha"].get<double>());
    EXPECT_EQ(r.norms.size(), c["scales"].size());
    for (const SmoothableNorm& n : model->smoothable_norms()) {
      SCOPED_TRACE(n.name);
      const auto want = c["scales"][n.name].get<std::vector<double>>();
      ASSERT_EQ(static_cast<int64_t>(want.size()), n.weight->numel());
      for (size_t j = 0; j < want.size(); ++j) {
        const double got = norm_before.at(n.name)[j] / n.weight->values[j];  // the norm was divided by s_j
        ASSERT_NEAR(got, want[j], 1e-5 * want[j]) << "channel " << j;
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
  ASSERT_EQ(r.norms.size(), 4u);
  for (const SmoothedNorm& n : r.norms) {
    SCOPED_TRACE(n.norm);
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
