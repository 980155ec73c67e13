// Causal grouped-query attention (every ISA's fused kernel) and rotary embeddings against their
// reference twins: GQA ratios 1, 3 and 4, odd lengths, right padding, head widths that are not
// multiples of 16, and branches (a shared prefix with continuations that do
// not see each other), whose positions restart after the prefix.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/tensor.h"
#include "core/threads.h"
#include "kernels/causal_attention.h"
#include "kernels/cpu_features.h"
#include "kernels/reference/reference_ops.h"
#include "kernels/rotary.h"

namespace squish {
namespace {

std::vector<float> random_vector(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.5f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

void expect_matches_reference(const CausalAttentionShape& s, const std::vector<int32_t>& lengths,
                              const std::vector<int32_t>& branches) {
  const auto qkv = random_vector(static_cast<size_t>(s.batch * s.tokens * s.row_width()), 7 + s.tokens + s.heads);
  std::vector<float> ref(static_cast<size_t>(s.batch * s.tokens * s.query_width()), 0.0f);
  const int32_t* branch = branches.empty() ? nullptr : branches.data();
  reference::causal_attention(ref.data(), qkv.data(), lengths.data(), branch, s);
  for (int i = 0; i <= static_cast<int>(active_isa()); ++i) {
    const Isa isa = static_cast<Isa>(i);
    std::vector<float> ctx(ref.size(), -7.0f);
    AlignedVector<float> workspace(static_cast<size_t>(causal_attention_workspace_floats(s)));
    causal_attention(ctx.data(), workspace.data(), qkv.data(), lengths.data(), branch, s, isa);
    for (int64_t b = 0; b < s.batch; ++b)
      for (int64_t t = 0; t < s.tokens; ++t)
        for (int64_t c = 0; c < s.query_width(); ++c) {
          const size_t at = static_cast<size_t>((b * s.tokens + t) * s.query_width() + c);
          ASSERT_TRUE(std::isfinite(ctx[at])) << isa_name(isa) << " b=" << b << " t=" << t;  // padded rows too
          if (t < lengths[static_cast<size_t>(b)]) {
            ASSERT_NEAR(ctx[at], ref[at], 2e-5 * (1 + std::fabs(ref[at])))
                << isa_name(isa) << " b=" << b << " t=" << t << " c=" << c;
          }
        }
  }
}

TEST(CausalAttention, MatchesReferenceWithGroupedQueriesAndPadding) {
  expect_matches_reference({2, 7, 4, 4, 8}, {7, 3}, {});        // one KV head per query head
  expect_matches_reference({3, 13, 9, 3, 16}, {13, 1, 9}, {});  // SmolLM2's ratio
  expect_matches_reference({1, 33, 8, 2, 64}, {33}, {});
  expect_matches_reference({2, 41, 4, 2, 24}, {41, 40}, {});  // a head width that is not a multiple of 16
  // Query blocks whose key prefixes stop at 128 and 256 of 300 keys, a length inside a block.
  expect_matches_reference({3, 300, 6, 2, 16}, {300, 161, 1}, {});
}

// Every block runs whole on one thread: the same bits at one and at two threads.
TEST(CausalAttention, IdenticalAtOneAndTwoThreads) {
  const CausalAttentionShape s{2, 200, 6, 2, 16};
  const std::vector<int32_t> lengths = {200, 77};
  const auto qkv = random_vector(static_cast<size_t>(s.batch * s.tokens * s.row_width()), 5);
  std::vector<std::vector<float>> ctx;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    std::vector<float> out(static_cast<size_t>(s.batch * s.tokens * s.query_width()), 0.0f);
    AlignedVector<float> workspace(static_cast<size_t>(causal_attention_workspace_floats(s)));
    causal_attention(out.data(), workspace.data(), qkv.data(), lengths.data(), nullptr, s);
    ctx.push_back(out);
  }
  set_num_threads(0);
  EXPECT_EQ(ctx[0], ctx[1]);
}

TEST(CausalAttention, BranchesSeeThePrefixAndThemselvesOnly) {
  // Prefix of 4, then continuations of 3, 1 and 2 tokens, then padding.
  const std::vector<int32_t> branches = {0, 0, 0, 0, 1, 1, 1, 2, 3, 3, 0, 0};
  expect_matches_reference({1, 12, 6, 2, 8}, {10}, branches);
  // A branch's rows equal the same tokens run as one plain causal sequence (prefix + that branch).
  const CausalAttentionShape with{1, 12, 6, 2, 8}, alone{1, 6, 6, 2, 8};
  const auto qkv = random_vector(static_cast<size_t>(12 * with.row_width()), 99);
  std::vector<float> plain_qkv(qkv.begin(), qkv.begin() + 4 * with.row_width());  // prefix
  plain_qkv.insert(plain_qkv.end(), qkv.begin() + 8 * with.row_width(), qkv.begin() + 10 * with.row_width());
  std::vector<float> ctx(static_cast<size_t>(12 * with.query_width())), plain(6 * with.query_width());
  AlignedVector<float> workspace(static_cast<size_t>(causal_attention_workspace_floats(with)));
  const int32_t ten = 10, six = 6;
  causal_attention(ctx.data(), workspace.data(), qkv.data(), &ten, branches.data(), with);
  causal_attention(plain.data(), workspace.data(), plain_qkv.data(), &six, nullptr, alone);
  for (int64_t c = 0; c < 2 * with.query_width(); ++c)  // branch 3 (rows 8, 9) = plain rows 4, 5
    EXPECT_NEAR(ctx[static_cast<size_t>(8 * with.query_width() + c)],
                plain[static_cast<size_t>(4 * with.query_width() + c)], 1e-5);
}

TEST(CausalAttention, PositionsRestartAfterThePrefixInEachBranch) {
  const std::vector<int32_t> branches = {0, 0, 0, 1, 1, 2, 3, 3, 3, 0};
  const int32_t length = 9;
  std::vector<int32_t> positions(branches.size());
  causal_positions(positions.data(), &length, branches.data(), 1, 10);
  EXPECT_EQ(positions, (std::vector<int32_t>{0, 1, 2, 3, 4, 3, 3, 4, 5, 0}));
  const std::vector<int32_t> lengths = {3, 2};
  std::vector<int32_t> plain(8);
  causal_positions(plain.data(), lengths.data(), nullptr, 2, 4);
  EXPECT_EQ(plain, (std::vector<int32_t>{0, 1, 2, 0, 0, 1, 0, 0}));
}

TEST(Rotary, RotatesHalvesAsHuggingFaceDoes) {
  const int64_t hd = 8, heads = 3, rows = 4, stride = heads * hd + 5;  // stride: rows wider than the heads
  const RotaryTable table(hd, 10000.0, 64);
  auto x = random_vector(static_cast<size_t>(rows * stride), 5);
  const auto before = x;
  const std::vector<int32_t> positions = {0, 1, 17, 63};
  apply_rotary(x.data(), rows, stride, heads, positions.data(), table);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < hd / 2; ++i) {
        const double inv_freq = 1.0 / std::pow(10000.0, static_cast<double>(2 * i) / hd);
        const double angle = positions[static_cast<size_t>(r)] * inv_freq;
        const size_t a = static_cast<size_t>(r * stride + h * hd + i), b = a + hd / 2;
        EXPECT_NEAR(x[a], before[a] * std::cos(angle) - before[b] * std::sin(angle), 1e-5);
        EXPECT_NEAR(x[b], before[b] * std::cos(angle) + before[a] * std::sin(angle), 1e-5);
      }
    for (int64_t c = heads * hd; c < stride; ++c)  // beyond the heads: untouched
      EXPECT_EQ(x[static_cast<size_t>(r * stride + c)], before[static_cast<size_t>(r * stride + c)]);
  }
}

}  // namespace
}  // namespace squish
