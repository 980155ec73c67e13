// Pruning masks (prune/mask.h): what is in scope, exact masked counts at every target (repeated
// pruning included), ties broken by position, masked entries exactly +0, the IMP schedule.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "core/error.h"
#include "prune/mask.h"

namespace squish {
namespace {

// A miniature classifier's layout: embeddings and their LayerNorm, two encoder Linears with
// biases in layer 0, a pooler and a classifier. Sizes are not multiples of 16, so tensors are padded.
struct Model {
  std::shared_ptr<ParameterLayout> layout = std::make_shared<ParameterLayout>();
  int word, ln_gamma, qkv, qkv_bias, ffn, ffn_bias, pooler, pooler_bias, classifier, classifier_bias;
  Model() {
    word = layout->add({"embeddings.word_embeddings.weight", {5, 3}, 0, ParameterKind::kEmbedding, -1});
    ln_gamma = layout->add({"embeddings.LayerNorm.weight", {3}, 0, ParameterKind::kLayerNorm, -1});
    qkv = layout->add({"encoder.layer.0.attention.self.qkv.weight", {9, 3}, 0, ParameterKind::kLinearWeight, 0,
                       LinearRole::kAttentionQkv});
    qkv_bias = layout->add({"encoder.layer.0.attention.self.qkv.bias", {9}, 0, ParameterKind::kBias, 0,
                            LinearRole::kAttentionQkv});
    ffn = layout->add({"encoder.layer.0.intermediate.dense.weight", {7, 3}, 0, ParameterKind::kLinearWeight, 0,
                       LinearRole::kFfnIn});
    ffn_bias = layout->add({"encoder.layer.0.intermediate.dense.bias", {7}, 0, ParameterKind::kBias, 0,
                            LinearRole::kFfnIn});
    pooler = layout->add({"pooler.dense.weight", {3, 3}, 0, ParameterKind::kLinearWeight, -1, LinearRole::kPooler});
    pooler_bias = layout->add({"pooler.dense.bias", {3}, 0, ParameterKind::kBias, -1, LinearRole::kPooler});
    classifier = layout->add({"classifier.weight", {2, 3}, 0, ParameterKind::kLinearWeight, -1,
                              LinearRole::kClassifier});
    classifier_bias = layout->add({"classifier.bias", {2}, 0, ParameterKind::kBias, -1, LinearRole::kClassifier});
  }
  // Weights whose magnitudes are all distinct and interleave in sign across tensors.
  ParameterBuffer distinct_weights() const {
    ParameterBuffer w(layout);
    int64_t next = 1;
    for (size_t i = 0; i < layout->tensors().size(); ++i)
      for (int64_t j = 0; j < layout->tensors()[i].numel(); ++j, ++next)
        w.data(static_cast<int>(i))[j] = static_cast<float>((next * 37) % 101) * (next % 2 ? 1.0f : -1.0f);
    return w;
  }
};

int64_t masked(const ParameterBuffer& mask, int tensor) {
  const int64_t n = mask.layout().tensor(tensor).numel();
  return std::count(mask.data(tensor), mask.data(tensor) + n, 0.0f);
}

TEST(PruneScope, DefaultIsTheEncodersLinearWeights) {
  const Model m;
  EXPECT_EQ(prunable_tensors(*m.layout, {}), (std::vector<int>{m.qkv, m.ffn}));
  EXPECT_EQ(prunable_tensors(*m.layout, {.pooler = true}), (std::vector<int>{m.qkv, m.ffn, m.pooler}));
  EXPECT_EQ(prunable_tensors(*m.layout, {.classifier = true}), (std::vector<int>{m.qkv, m.ffn, m.classifier}));
  EXPECT_EQ(prunable_tensors(*m.layout, {.embeddings = true}), (std::vector<int>{m.word, m.qkv, m.ffn}));
  EXPECT_EQ(prunable_tensors(*m.layout, {.layer_norms = true}), (std::vector<int>{m.ln_gamma, m.qkv, m.ffn}));
  // Biases follow their Linears: the pooler's bias only with the pooler.
  EXPECT_EQ(prunable_tensors(*m.layout, {.biases = true}), (std::vector<int>{m.qkv, m.qkv_bias, m.ffn, m.ffn_bias}));
  EXPECT_EQ(prunable_tensors(*m.layout, {.biases = true, .pooler = true}),
            (std::vector<int>{m.qkv, m.qkv_bias, m.ffn, m.ffn_bias, m.pooler, m.pooler_bias}));
  const std::vector<int> all = prunable_tensors(*m.layout, {true, true, true, true, true});
  EXPECT_EQ(all.size(), m.layout->tensors().size());
}

TEST(Mask, FullMaskKeepsEverythingAndApplyingItChangesNothing) {
  const Model m;
  const ParameterBuffer mask = full_mask(m.layout);
  EXPECT_EQ(std::count(mask.all(), mask.all() + mask.floats(), 1.0f), mask.floats());
  ParameterBuffer w = m.distinct_weights();
  const ParameterBuffer before = w;
  w.apply_mask(mask);
  EXPECT_EQ(std::memcmp(w.all(), before.all(), static_cast<size_t>(w.floats()) * 4), 0);
}

TEST(Mask, ExactCountsAtEveryTargetAndMaskedEntriesArePositiveZero) {
  const Model m;
  const std::vector<int> prunable = prunable_tensors(*m.layout, {});
  const int64_t total = 27 + 21;
  for (const double target : {0.0, 0.1, 0.25, 0.5, 0.77, 0.9, 0.99}) {
    SCOPED_TRACE(target);
    ParameterBuffer mask = full_mask(m.layout);
    ParameterBuffer w = m.distinct_weights();
    global_magnitude_prune(mask, w, prunable, target);
    const SparsityReport r = sparsity_report(mask, prunable);
    EXPECT_EQ(r.total, total);
    EXPECT_EQ(r.zeros, std::llround(target * static_cast<double>(total)));
    EXPECT_EQ(r.tensors.size(), 2u);
    EXPECT_EQ(r.tensors[0].name, "encoder.layer.0.attention.self.qkv.weight");
    EXPECT_EQ(r.tensors[0].layer, 0);
    EXPECT_EQ(r.tensors[0].zeros + r.tensors[1].zeros, r.zeros);
    // Nothing outside the scope is touched; every masked weight is smaller than every kept one.
    for (int t : {m.word, m.ln_gamma, m.qkv_bias, m.pooler, m.classifier}) EXPECT_EQ(masked(mask, t), 0);
    float largest_masked = 0, smallest_kept = INFINITY;
    for (int t : prunable)
      for (int64_t j = 0; j < m.layout->tensor(t).numel(); ++j) {
        const float magnitude = std::fabs(w.data(t)[j]);
        if (mask.data(t)[j] == 0)
          largest_masked = std::max(largest_masked, magnitude);
        else
          smallest_kept = std::min(smallest_kept, magnitude);
      }
    EXPECT_LT(largest_masked, smallest_kept);
    w.apply_mask(mask);
    for (int t : prunable)
      for (int64_t j = 0; j < m.layout->tensor(t).numel(); ++j)
        if (mask.data(t)[j] == 0) {
          uint32_t bits;
          std::memcpy(&bits, &w.data(t)[j], 4);
          EXPECT_EQ(bits, 0u) << "a masked weight is not +0.0f";
        }
  }
}

TEST(Mask, RepeatedPruningKeepsWhatWasMaskedAndCountsIt) {
  const Model m;
  const std::vector<int> prunable = prunable_tensors(*m.layout, {});
  ParameterBuffer mask = full_mask(m.layout);
  ParameterBuffer w = m.distinct_weights();
  global_magnitude_prune(mask, w, prunable, 0.25);
  const ParameterBuffer first = mask;
  // Training moves the survivors: make one survivor the smallest weight of all, and give masked
  // weights large values that must not bring them back.
  w.apply_mask(mask);
  int revived = -1;
  for (int64_t j = 0; j < 27; ++j) {
    if (mask.data(m.qkv)[j] == 0) {
      w.data(m.qkv)[j] = 1000.0f;
    } else if (revived < 0) {
      revived = static_cast<int>(j);
      w.data(m.qkv)[j] = 0.001f;
    }
  }
  global_magnitude_prune(mask, w, prunable, 0.5);
  EXPECT_EQ(sparsity_report(mask, prunable).zeros, 24);
  for (int64_t i = 0; i < mask.floats(); ++i)
    if (first.all()[i] == 0) {
      EXPECT_EQ(mask.all()[i], 0.0f) << "a masked weight came back at " << i;
    }
  EXPECT_EQ(mask.data(m.qkv)[revived], 0.0f) << "the smallest survivor was kept";
  global_magnitude_prune(mask, w, prunable, 0.5);  // the same target again changes nothing
  EXPECT_EQ(sparsity_report(mask, prunable).zeros, 24);
  EXPECT_THROW(global_magnitude_prune(mask, w, prunable, 0.4), UsageError);
  EXPECT_THROW(global_magnitude_prune(mask, w, prunable, 1.0), UsageError);
  EXPECT_THROW(global_magnitude_prune(mask, w, prunable, -0.1), UsageError);
  EXPECT_THROW(global_magnitude_prune(mask, w, prunable, NAN), UsageError);
}

TEST(Mask, TiesAreBrokenByPositionInTheBuffer) {
  const Model m;
  ParameterBuffer w(m.layout);
  // Every prunable weight has |w| = 1 except qkv[5] = 0.5; signs alternate, which magnitude ignores.
  for (int t : {m.qkv, m.ffn})
    for (int64_t j = 0; j < m.layout->tensor(t).numel(); ++j) w.data(t)[j] = j % 2 ? -1.0f : 1.0f;
  w.data(m.qkv)[5] = 0.5f;
  ParameterBuffer mask = full_mask(m.layout);
  // Listed in reverse, ties still go to the earliest position: qkv[5], then qkv[0..3] of the tied ones.
  global_magnitude_prune(mask, w, {m.ffn, m.qkv}, 5.0 / 48.0);
  for (int64_t j = 0; j < 27; ++j) EXPECT_EQ(mask.data(m.qkv)[j], (j < 4 || j == 5) ? 0.0f : 1.0f) << j;
  EXPECT_EQ(masked(mask, m.ffn), 0);
  // Pruning past the qkv tensor's 27 takes ffn's weights from its first.
  global_magnitude_prune(mask, w, {m.qkv, m.ffn}, 30.0 / 48.0);
  EXPECT_EQ(masked(mask, m.qkv), 27);
  for (int64_t j = 0; j < 21; ++j) EXPECT_EQ(mask.data(m.ffn)[j], j < 3 ? 0.0f : 1.0f) << j;
}

// The two-pass radix selection against a full sort, on weights with many exact ties (few distinct
// magnitudes, both signs, zeros) spread over tensors with padding between them, pruned in steps.
TEST(Mask, MatchesASortedReferenceOnTiedRandomWeights) {
  auto layout = std::make_shared<ParameterLayout>();
  const std::vector<int> prunable = {layout->add({"a", {37, 29}, 0, ParameterKind::kLinearWeight, 0}),
                                     layout->add({"b", {3}, 0, ParameterKind::kBias, 0}),
                                     layout->add({"c", {61, 17}, 0, ParameterKind::kLinearWeight, 1}),
                                     layout->add({"d", {5, 333}, 0, ParameterKind::kLinearWeight, 2})};
  ParameterBuffer w(layout);
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> level(-40, 40);
  for (int t : prunable)
    for (int64_t j = 0; j < layout->tensor(t).numel(); ++j) w.data(t)[j] = 0.125f * static_cast<float>(level(rng));
  // The reference: every prunable position ordered by (|w|, position), the first `goal` masked.
  std::vector<int64_t> positions;
  for (int t : prunable)
    for (int64_t j = 0; j < layout->tensor(t).numel(); ++j) positions.push_back(layout->tensor(t).offset + j);
  ParameterBuffer mask = full_mask(layout);
  for (const double target : {0.1, 0.333, 0.5, 0.9, 0.999}) {
    SCOPED_TRACE(target);
    global_magnitude_prune(mask, w, prunable, target);
    // The weights do not change between rounds, so every round masks a prefix of one order.
    std::vector<int64_t> order = positions;
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return std::fabs(w.all()[a]) < std::fabs(w.all()[b]);
    });
    const auto goal = std::llround(target * static_cast<double>(positions.size()));
    ParameterBuffer expected = full_mask(layout);
    for (int64_t i = 0; i < goal; ++i) expected.all()[order[static_cast<size_t>(i)]] = 0.0f;
    EXPECT_EQ(std::memcmp(mask.all(), expected.all(), static_cast<size_t>(mask.floats()) * 4), 0);
  }
}

TEST(Mask, ScopeFlagsPruneAcrossTheChosenTensors) {
  const Model m;
  const std::vector<int> prunable = prunable_tensors(*m.layout, {.embeddings = true, .pooler = true});
  ParameterBuffer mask = full_mask(m.layout);
  ParameterBuffer w = m.distinct_weights();
  global_magnitude_prune(mask, w, prunable, 0.5);
  const SparsityReport r = sparsity_report(mask, prunable);
  EXPECT_EQ(r.total, 15 + 27 + 21 + 9);
  EXPECT_EQ(r.zeros, 36);
  EXPECT_GT(masked(mask, m.word), 0);
  EXPECT_GT(masked(mask, m.pooler), 0);
  EXPECT_EQ(masked(mask, m.classifier), 0);
  EXPECT_EQ(masked(mask, m.qkv_bias), 0);
}

TEST(Mask, NaNSurvivorsAndMismatchedBuffersAreRefused) {
  const Model m;
  ParameterBuffer w = m.distinct_weights();
  w.data(m.ffn)[4] = NAN;
  ParameterBuffer mask = full_mask(m.layout);
  try {
    global_magnitude_prune(mask, w, prunable_tensors(*m.layout, {}), 0.5);
    FAIL() << "a NaN weight was ranked";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("encoder.layer.0.intermediate.dense.weight"), std::string::npos) << e.what();
  }
  auto other = std::make_shared<ParameterLayout>();
  other->add({"x", {40}, 0, ParameterKind::kLinearWeight, 0});
  ParameterBuffer small = full_mask(other);
  EXPECT_THROW(w.apply_mask(small), ShapeError);
}

TEST(ImpSchedule, GeometricSparsityPerRound) {
  EXPECT_DOUBLE_EQ(imp_sparsity(0.9, 0, 3), 0.0);
  EXPECT_DOUBLE_EQ(imp_sparsity(0.9, 3, 3), 0.9);
  EXPECT_NEAR(imp_sparsity(0.9, 1, 3), 1.0 - std::cbrt(0.1), 1e-15);  // 0.5358...
  EXPECT_NEAR(imp_sparsity(0.9, 2, 3), 1.0 - std::cbrt(0.01), 1e-15);
  EXPECT_DOUBLE_EQ(imp_sparsity(0.75, 1, 2), 0.5);
  // Each round keeps the same fraction of the survivors: (1 − s_r) / (1 − s_{r−1}) is constant.
  const double keep1 = (1 - imp_sparsity(0.8, 1, 5)) / (1 - imp_sparsity(0.8, 0, 5));
  const double keep4 = (1 - imp_sparsity(0.8, 4, 5)) / (1 - imp_sparsity(0.8, 3, 5));
  EXPECT_NEAR(keep1, keep4, 1e-14);
  EXPECT_NEAR(keep1, std::pow(0.2, 0.2), 1e-14);
  EXPECT_THROW(imp_sparsity(1.0, 1, 2), UsageError);
  EXPECT_THROW(imp_sparsity(0.5, 3, 2), UsageError);
  EXPECT_THROW(imp_sparsity(0.5, 0, 0), UsageError);
  EXPECT_THROW(imp_sparsity(0.5, -1, 2), UsageError);
}

}  // namespace
}  // namespace squish
