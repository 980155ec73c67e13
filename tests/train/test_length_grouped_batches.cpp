// The order of training examples (HF's LengthGroupedSampler): each index once, full batches but the
// last, megabatches of 50 batches sorted longest first, the overall longest example first, and the
// composition a function of the seed alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "train/length_grouped_batches.h"

namespace squish {
namespace {

constexpr int64_t kBatch = 4;

// 450 lengths in [1, 60] (many ties): at batch 4, megabatches of 200, 200 and 50 examples.
std::vector<int64_t> seeded_lengths(size_t n) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> len(1, 60);
  std::vector<int64_t> out(n);
  for (int64_t& l : out) l = len(rng);
  return out;
}

std::vector<size_t> flatten(const std::vector<std::vector<size_t>>& batches) {
  std::vector<size_t> out;
  for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
  return out;
}

TEST(LengthGroupedBatches, EveryIndexOnceInFullBatches) {
  const std::vector<int64_t> lengths = seeded_lengths(450);
  const auto batches = length_grouped_batches(lengths, kBatch, 1);
  ASSERT_EQ(batches.size(), 113u);  // ceil(450 / 4)
  for (size_t i = 0; i + 1 < batches.size(); ++i) EXPECT_EQ(batches[i].size(), 4u) << i;
  EXPECT_EQ(batches.back().size(), 2u);
  std::vector<size_t> all = flatten(batches);
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], i);
}

TEST(LengthGroupedBatches, MegabatchesSortedLongestFirstAndTheLongestInTheFirstBatch) {
  const std::vector<int64_t> lengths = seeded_lengths(450);
  const int64_t longest = *std::max_element(lengths.begin(), lengths.end());
  for (uint64_t seed : {1u, 2u, 3u}) {
    const std::vector<size_t> order = flatten(length_grouped_batches(lengths, kBatch, seed));
    EXPECT_EQ(lengths[order[0]], longest) << seed;
    const size_t mega = static_cast<size_t>(kBatchesPerMegabatch * kBatch);
    for (size_t start = 0; start < order.size(); start += mega) {
      // The megabatch that held the longest example gave it to the first batch in exchange for the
      // first megabatch's head, so past the first megabatch only the head may be out of order.
      const size_t from = start == 0 ? 0 : start + 1;
      for (size_t i = from; i + 1 < std::min(order.size(), start + mega); ++i)
        ASSERT_GE(lengths[order[i]], lengths[order[i + 1]]) << "seed " << seed << " position " << i;
    }
  }
}

TEST(LengthGroupedBatches, TheSeedAloneDecidesTheBatches) {
  const std::vector<int64_t> lengths = seeded_lengths(450);
  EXPECT_EQ(length_grouped_batches(lengths, kBatch, 5), length_grouped_batches(lengths, kBatch, 5));
  EXPECT_NE(length_grouped_batches(lengths, kBatch, 5), length_grouped_batches(lengths, kBatch, 6));
  // Not merely the same sorted order: which examples share a batch changes with the seed.
  const auto a = length_grouped_batches(lengths, kBatch, 5), b = length_grouped_batches(lengths, kBatch, 6);
  int same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  EXPECT_LT(same, 10);
}

}  // namespace
}  // namespace squish
