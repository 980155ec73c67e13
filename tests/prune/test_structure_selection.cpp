// Choosing heads and FFN neurons to remove from their scores (BERT's scores are checked in
// tests/model/test_bert_structures.cpp): the global selection's counts, per-layer normalisation,
// ties and last-one rule, and the flat form processes exchange.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "core/error.h"
#include "prune/structured.h"

namespace squish {
namespace {

StructureScores heads_only(std::vector<std::vector<double>> heads) {
  StructureScores s;
  s.heads = std::move(heads);
  s.neurons.assign(s.heads.size(), {1.0, 2.0});
  return s;
}

using Keep = std::vector<std::vector<int64_t>>;

TEST(StructureSelection, RemovesTheGloballyLowestAfterPerLayerNormalisation) {
  // Layer 1 is layer 0 times 10: raw scores would strip layer 0 first; normalised, they interleave.
  const StructureScores s = heads_only({{1, 5, 3, 7}, {10, 50, 30, 70}});
  EXPECT_EQ(select_structures(s, 0.5, Structure::kHeads).heads, (Keep{{1, 3}, {1, 3}}));
  // The other structure is kept whole.
  EXPECT_EQ(select_structures(s, 0.5, Structure::kHeads).neurons, (Keep{{0, 1}, {0, 1}}));
  EXPECT_EQ(select_structures(s, 0.0, Structure::kHeads).heads, (Keep{{0, 1, 2, 3}, {0, 1, 2, 3}}));
}

TEST(StructureSelection, EqualNormalisedScoresGoInLayerThenIndexOrder) {
  // Scaling by 4 is exact, so both layers' normalised scores are equal bit for bit.
  const StructureScores s = heads_only({{4, 8, 12, 16}, {1, 2, 3, 4}});
  EXPECT_EQ(select_structures(s, 1.0 / 8, Structure::kHeads).heads, (Keep{{1, 2, 3}, {0, 1, 2, 3}}));
  EXPECT_EQ(select_structures(s, 3.0 / 8, Structure::kHeads).heads, (Keep{{2, 3}, {1, 2, 3}}));
  // Within a layer, equal scores go lowest index first.
  EXPECT_EQ(select_structures(heads_only({{2, 2, 2}}), 1.0 / 3, Structure::kHeads).heads, (Keep{{1, 2}}));
}

TEST(StructureSelection, NeverRemovesALayersLastOne) {
  const StructureScores s = heads_only({{5, 6}, {0.1, 0.2}, {3}});
  // round(1.0 · 5) = 5 asked; each layer keeps its best, so only 2 go.
  EXPECT_EQ(select_structures(s, 1.0, Structure::kHeads).heads, (Keep{{1}, {1}, {0}}));
  // Normalised, layer 1's four heads (0.5 each) are below layer 0's (0.70707, 0.70714); its last is
  // skipped and the count is made up from layer 0.
  EXPECT_EQ(select_structures(heads_only({{1, 1.0001}, {1, 1, 1, 1}}), 4.0 / 6, Structure::kHeads).heads,
            (Keep{{1}, {3}}));
}

TEST(StructureSelection, CountIsRoundedFractionOfAllLayers) {
  StructureScores s;
  s.heads.assign(3, {1.0});
  s.neurons = {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}};
  auto removed = [&](double fraction) {
    int64_t n = 0;
    for (const auto& layer : select_structures(s, fraction, Structure::kNeurons).neurons) n += 3 - static_cast<int64_t>(layer.size());
    return n;
  };
  EXPECT_EQ(removed(0.5), 5);   // round(4.5), half away from zero
  EXPECT_EQ(removed(0.3), 3);   // round(2.7)
  EXPECT_EQ(removed(0.05), 0);  // round(0.45)
  EXPECT_EQ(select_structures(s, 0.5, Structure::kNeurons).heads, (Keep{{0}, {0}, {0}}));
}

TEST(StructureSelection, LayersKeepAMultipleByScore) {
  StructureScores s;
  s.heads.assign(2, {1.0});
  // Layer 0 scores rise with the index, layer 1 falls; normalised, the global order interleaves them.
  s.neurons = {{1, 2, 3, 4, 5, 6, 7, 8}, {8, 7, 6, 5, 4, 3, 2, 1}};
  // Without a multiple 0.25 removes 4: the two lowest of each layer. With 4, each layer's 6 rounds to
  // the nearest multiple, 8 (the two removed come back).
  EXPECT_EQ(select_structures(s, 0.25, Structure::kNeurons).neurons, (Keep{{2, 3, 4, 5, 6, 7}, {0, 1, 2, 3, 4, 5}}));
  EXPECT_EQ(select_structures(s, 0.25, Structure::kNeurons, 4).neurons,
            (Keep{{0, 1, 2, 3, 4, 5, 6, 7}, {0, 1, 2, 3, 4, 5, 6, 7}}));
  // 0.5 leaves 4 a layer: already a multiple. 0.625 leaves 3 → 4, the highest-scored removed one back.
  EXPECT_EQ(select_structures(s, 0.5, Structure::kNeurons, 4).neurons, (Keep{{4, 5, 6, 7}, {0, 1, 2, 3}}));
  EXPECT_EQ(select_structures(s, 0.625, Structure::kNeurons, 4).neurons, (Keep{{4, 5, 6, 7}, {0, 1, 2, 3}}));
  // 0.875 leaves 1 each: rounded down to 0, but never below one multiple.
  EXPECT_EQ(select_structures(s, 0.875, Structure::kNeurons, 4).neurons, (Keep{{4, 5, 6, 7}, {0, 1, 2, 3}}));
  // Heads of 32 weights keep an even count (64 / gcd(64, 32)); neurons a multiple of 64.
  EXPECT_EQ(structure_multiple(Structure::kHeads, 32), 2);
  EXPECT_EQ(structure_multiple(Structure::kHeads, 64), 1);
  EXPECT_EQ(structure_multiple(Structure::kNeurons, 64), 64);
}

TEST(StructureSelection, RejectsBadFractionsAndScores) {
  const StructureScores s = heads_only({{1, 2}});
  EXPECT_THROW(select_structures(s, -0.1, Structure::kHeads), UsageError);
  EXPECT_THROW(select_structures(s, 1.5, Structure::kHeads), UsageError);
  EXPECT_THROW(select_structures(s, std::nan(""), Structure::kHeads), UsageError);
  EXPECT_THROW(select_structures(heads_only({{1, std::numeric_limits<double>::infinity()}}), 0.5, Structure::kHeads),
               DataError);
  StructureScores mismatched = s;
  mismatched.neurons.push_back({1.0});
  EXPECT_THROW(select_structures(mismatched, 0.5, Structure::kHeads), ShapeError);
}

// The flat form processes exchange: heads of every layer, then neurons; adding it back in place
// restores the per-layer scores, and a count for another model is refused before anything is added.
TEST(StructureScores, FlatScoresRoundTripAndRefuseAnotherModelsCount) {
  // Two layers of 3 and 2 heads and of 40 and 9 neurons, as a partly pruned model has them.
  StructureScores scores{{std::vector<double>(3), std::vector<double>(2)},
                         {std::vector<double>(40), std::vector<double>(9)}};
  double next = 1;
  for (auto* part : {&scores.heads, &scores.neurons})
    for (std::vector<double>& layer : *part)
      for (double& v : layer) v = next++;
  const std::vector<double> flat = flat_scores(scores);
  ASSERT_EQ(flat.size(), static_cast<size_t>(next - 1));
  EXPECT_EQ(flat.front(), 1.0);
  EXPECT_EQ(flat[scores.heads[0].size()], scores.heads.size() > 1 ? scores.heads[1][0] : scores.neurons[0][0]);
  StructureScores twice = scores;
  add_flat_scores(twice, flat);
  for (size_t l = 0; l < scores.neurons.size(); ++l)
    for (size_t j = 0; j < scores.neurons[l].size(); ++j) EXPECT_EQ(twice.neurons[l][j], 2 * scores.neurons[l][j]);
  StructureScores untouched = scores;
  EXPECT_THROW(add_flat_scores(untouched, std::vector<double>(flat.size() - 1, 1.0)), ShapeError);
  EXPECT_EQ(flat_scores(untouched), flat);
}

}  // namespace
}  // namespace squish
