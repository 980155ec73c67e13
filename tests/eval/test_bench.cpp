// FLOP counts of the forward, against counts worked out by hand for a small config.
#include <gtest/gtest.h>

#include "eval/bench.h"
#include "model/bert/bert_forward.h"

namespace squish {
namespace {

TEST(BenchFlops, MatchHandCountedForward) {
  BertConfig c;
  c.hidden_size = 24;
  c.intermediate_size = 40;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 3;
  c.num_labels = 3;
  // B=2, T=5 (M=10). A full layer: 2*10*(4*24*24 + 2*24*40) + 2*2*2*5*5*24 = 84480 + 4800 = 89280.
  // The [CLS]-only last layer: QKV 2*10*3*24*24 = 34560, attention 2*2*2*1*5*24 = 960,
  // dense 2*2*(24*24 + 2*24*40) = 9984 → 45504. Pooler + classifier: 2*2*24*(24+3) = 2592.
  EXPECT_DOUBLE_EQ(bert_forward_flops(c, 2, 5, LastLayerRows::kAllTokens), 89280.0 * 2 + 2592);
  EXPECT_DOUBLE_EQ(bert_forward_flops(c, 2, 5, LastLayerRows::kClsOnly), 89280.0 + 45504 + 2592);
}

TEST(BenchFlops, RandomTokenBatchIsDeterministicAndInRange) {
  const TokenLimits limits{50, 2, 512};
  const TokenBatch a = random_token_batch(limits, 3, 7, 11), b = random_token_batch(limits, 3, 7, 11);
  EXPECT_EQ(a.input_ids, b.input_ids);
  EXPECT_EQ(a.input_ids.size(), 21u);
  for (int32_t id : a.input_ids) {
    EXPECT_GE(id, 0);
    EXPECT_LT(id, 50);
  }
  EXPECT_EQ(a.lengths, std::vector<int32_t>(3, 7));
}

}  // namespace
}  // namespace squish
