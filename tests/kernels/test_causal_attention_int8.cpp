// Causal int8 attention (kernels/attention_int8.h, causal_attention_int8) against its double twin
// (the same codes, exact integer sums, softmax in double) on every ISA: GQA ratios 1, 3 and 4, odd
// lengths, right padding, head widths that are not multiples of 16, branches; the same bits at one
// and two threads; no output moved by a later token; and its distance from fp32 causal attention.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "common/attention_int8_checks.h"
#include "core/tensor.h"
#include "core/threads.h"
#include "kernels/attention_int8.h"
#include "kernels/causal_attention.h"
#include "kernels/reference/reference_ops.h"

namespace squish {
namespace {

std::vector<float> random_qkv(const CausalAttentionShape& s, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(s.batch * s.tokens * s.row_width()));
  for (float& x : v) x = dist(rng);
  // An outlier channel in K and a loud token in V, as trained models have.
  for (int64_t t = 0; t < s.batch * s.tokens; ++t) {
    v[static_cast<size_t>(t * s.row_width() + s.query_width() + 3)] *= 6.0f;
    if (t % 7 == 2)
      for (int64_t c = 0; c < s.kv_width(); ++c)
        v[static_cast<size_t>(t * s.row_width() + s.query_width() + s.kv_width() + c)] *= 4.0f;
  }
  return v;
}

std::vector<float> run_int8(const CausalAttentionShape& s, const std::vector<float>& qkv,
                            const std::vector<int32_t>& lengths, const std::vector<int32_t>& branches, Isa isa) {
  std::vector<float> ctx(static_cast<size_t>(s.batch * s.tokens * s.query_width()), -7.0f);
  AlignedVector<uint8_t> workspace(static_cast<size_t>(causal_attention_int8_workspace_bytes(s)));
  causal_attention_int8(ctx.data(), workspace.data(), qkv.data(), lengths.data(),
                        branches.empty() ? nullptr : branches.data(), s, isa);
  return ctx;
}

// One code step of an output, max|v| / 255: what a probability code rounded the other way moves.
float code_step(const CausalAttentionShape& s, const std::vector<float>& qkv) {
  float m = 0.0f;
  for (int64_t t = 0; t < s.batch * s.tokens; ++t)
    for (int64_t c = 0; c < s.kv_width(); ++c)
      m = std::max(m, std::fabs(qkv[static_cast<size_t>(t * s.row_width() + s.query_width() + s.kv_width() + c)]));
  return m / 255.0f;
}

struct Case {
  CausalAttentionShape shape;
  std::vector<int32_t> lengths, branches;
};

std::vector<Case> cases() {
  return {{{2, 37, 9, 3, 64}, {37, 20}, {}},    // SmolLM2's ratio, odd lengths, padding
          {{3, 16, 4, 4, 32}, {1, 16, 9}, {}},  // one KV head per query head, a one-token sequence
          {{1, 53, 6, 2, 24}, {50}, {}},        // a head width that is not a multiple of 16
          {{2, 130, 4, 1, 64}, {130, 77}, {}},  // several query blocks, one KV head for four
          {{1, 45, 6, 2, 32},                   // a prefix of 20, continuations of 9, 1 and 12, padding
           {42},
           [] {
             std::vector<int32_t> b(45, 0);
             std::fill(b.begin() + 20, b.begin() + 29, 1);
             b[29] = 2;
             std::fill(b.begin() + 30, b.begin() + 42, 3);
             return b;
           }()}};
}

TEST(CausalAttentionInt8, EqualsItsDoubleTwinOnEveryIsa) {
  for (const Case& c : cases()) {
    const CausalAttentionShape& s = c.shape;
    const auto qkv = random_qkv(s, 11 + s.tokens);
    std::vector<float> ref(static_cast<size_t>(s.batch * s.tokens * s.query_width()));
    reference::causal_attention_int8(ref.data(), qkv.data(), c.lengths.data(),
                                     c.branches.empty() ? nullptr : c.branches.data(), s);
    const float step = code_step(s, qkv);
    for (Isa isa : test::integer_isas()) {
      const auto ctx = run_int8(s, qkv, c.lengths, c.branches, isa);
      test::expect_near_twin(ctx, ref, s.batch, s.tokens, s.query_width(), c.lengths, step, isa);
    }
  }
}

TEST(CausalAttentionInt8, IsasAgreeAndThreadCountsGiveTheSameBits) {
  const CausalAttentionShape s{3, 97, 9, 3, 64};
  const std::vector<int32_t> lengths{97, 60, 5};
  const auto qkv = random_qkv(s, 5);
  const auto first = run_int8(s, qkv, lengths, {}, Isa::kScalar);
  const float step = code_step(s, qkv);
  for (Isa isa : test::integer_isas()) {
    const int before = num_threads();
    set_num_threads(1);
    const auto at_one = run_int8(s, qkv, lengths, {}, isa);
    set_num_threads(2);
    const auto at_two = run_int8(s, qkv, lengths, {}, isa);
    set_num_threads(before);
    EXPECT_EQ(at_one, at_two) << isa_name(isa);
    for (int64_t b = 0; b < s.batch; ++b)
      for (int64_t i = 0; i < lengths[static_cast<size_t>(b)]; ++i)
        for (int64_t d = 0; d < s.query_width(); ++d) {
          const size_t at = static_cast<size_t>((b * s.tokens + i) * s.query_width() + d);
          ASSERT_NEAR(at_one[at], first[at], 2 * step) << isa_name(isa);  // fp32 softmaxes' summation order
        }
  }
}

// V coded per key: a later token, however loud, leaves every earlier output's bits as they were.
TEST(CausalAttentionInt8, NoOutputDependsOnALaterToken) {
  const CausalAttentionShape s{1, 70, 6, 2, 32};
  const std::vector<int32_t> lengths{70};
  const auto qkv = random_qkv(s, 21);
  auto louder = qkv;
  const int64_t later = 50;
  for (int64_t c = 0; c < s.row_width(); ++c) louder[static_cast<size_t>(later * s.row_width() + c)] *= 30.0f;
  for (Isa isa : test::integer_isas()) {
    const auto a = run_int8(s, qkv, lengths, {}, isa), b = run_int8(s, louder, lengths, {}, isa);
    EXPECT_TRUE(std::equal(a.begin(), a.begin() + later * s.query_width(), b.begin())) << isa_name(isa);
    EXPECT_NE(a[static_cast<size_t>(later * s.query_width())], b[static_cast<size_t>(later * s.query_width())]);
  }
}

// A continuation's rows equal the same tokens run as one plain sequence (the prefix, then it).
TEST(CausalAttentionInt8, BranchesSeeThePrefixAndThemselvesOnly) {
  const Case c = cases().back();
  const CausalAttentionShape with = c.shape, alone{1, 32, 6, 2, 32};
  const auto qkv = random_qkv(with, 8);
  std::vector<float> plain_qkv(qkv.begin(), qkv.begin() + 20 * with.row_width());  // the prefix
  plain_qkv.insert(plain_qkv.end(), qkv.begin() + 30 * with.row_width(), qkv.begin() + 42 * with.row_width());
  const float step = code_step(with, qkv);
  for (Isa isa : test::integer_isas()) {
    const auto branched = run_int8(with, qkv, c.lengths, c.branches, isa);
    const auto plain = run_int8(alone, plain_qkv, {32}, {}, isa);
    for (int64_t c2 = 0; c2 < 12 * with.query_width(); ++c2)  // branch 3 (rows 30..41) = plain rows 20..31
      ASSERT_NEAR(branched[static_cast<size_t>(30 * with.query_width() + c2)],
                  plain[static_cast<size_t>(20 * with.query_width() + c2)], 2 * step)
          << isa_name(isa);
  }
}

TEST(CausalAttentionInt8, StaysCloseToFp32CausalAttention) {
  const CausalAttentionShape s{2, 160, 9, 3, 64};
  const std::vector<int32_t> lengths{160, 90};
  const auto qkv = random_qkv(s, 9);
  std::vector<float> fp32(static_cast<size_t>(s.batch * s.tokens * s.query_width()));
  AlignedVector<float> workspace(static_cast<size_t>(causal_attention_workspace_floats(s)));
  causal_attention(fp32.data(), workspace.data(), qkv.data(), lengths.data(), nullptr, s);
  const auto int8 = run_int8(s, qkv, lengths, {}, test::integer_isas().front());
  const double error = test::relative_rms(int8, fp32, s.batch, s.tokens, s.query_width(), lengths);
  EXPECT_LT(error, 0.03);
  EXPECT_GT(error, 1e-4);  // it is quantized
}

}  // namespace
}  // namespace squish
