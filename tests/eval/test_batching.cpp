// Length bucketing and padded batches, against cases worked out by hand.
#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/batching.h"
#include "eval/runner.h"
#include "model/load_model.h"
#include "test_paths.h"

namespace squish {
namespace {

Encoding encoding_of(std::vector<int32_t> ids) {
  Encoding e;
  e.token_type_ids.assign(ids.size(), 0);
  e.attention_mask.assign(ids.size(), 1);
  e.input_ids = std::move(ids);
  return e;
}

TEST(Batching, BucketsAscendByLengthAndKeepTiesInOrder) {
  const auto buckets = length_buckets({5, 2, 9, 2, 7}, 2);
  EXPECT_EQ(buckets, (std::vector<std::vector<size_t>>{{1, 3}, {0, 4}, {2}}));
  EXPECT_THROW(length_buckets({1}, 0), UsageError);
}

TEST(Batching, TokenBatchIsRightPaddedToItsLongestMember) {
  const std::vector<Encoding> e = {encoding_of({2, 10, 3}), encoding_of({2, 3}), encoding_of({2, 11, 12, 3})};
  const TokenBatch b = make_token_batch(e, {1, 2}, 0);
  EXPECT_EQ(b.batch, 2);
  EXPECT_EQ(b.tokens, 4);
  EXPECT_EQ(b.input_ids, (std::vector<int32_t>{2, 3, 0, 0, 2, 11, 12, 3}));
  EXPECT_EQ(b.lengths, (std::vector<int32_t>{2, 4}));
}

TEST(Batching, PredictionsCountRealAndPaddedTokens) {
  const std::string dir = test::fixtures_dir() + "/tiny_bert";
  const auto model = load_model(dir);
  // Lengths 3, 1, 5, 2 in batches of 2: {1 (1), 3 (2)} pads to 2x2, {0 (3), 2 (5)} to 2x5.
  const std::vector<Encoding> e = {encoding_of({2, 7, 3}), encoding_of({2}), encoding_of({2, 4, 5, 6, 3}),
                                   encoding_of({2, 3})};
  const Predictions p = predict_logits(*model, e, 0, 2, false);
  EXPECT_EQ(p.real_tokens, 11);
  EXPECT_EQ(p.batch_tokens, 4 + 10);
  ASSERT_EQ(p.logits.size(), 4u);
  for (const auto& row : p.logits) EXPECT_EQ(row.size(), 3u);
}

}  // namespace
}  // namespace squish
