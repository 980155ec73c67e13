// Int8 attention (kernels/attention_int8.h) against its double twin (the same codes, exact integer
// sums, softmax in double), each ISA's kernels against the others, thread counts, padding, [CLS]-only
// queries, head widths that are not multiples of 16, and its distance from fp32 attention.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "common/attention_int8_checks.h"
#include "core/tensor.h"
#include "core/threads.h"
#include "kernels/attention.h"
#include "kernels/attention_int8.h"
#include "kernels/reference/reference_ops.h"

namespace squish {
namespace {

std::vector<float> random_qkv(const AttentionShape& s, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(s.batch * s.tokens * 3 * s.hidden()));
  for (float& x : v) x = dist(rng);
  // An outlier channel in K and a few large values, as trained models have.
  for (int64_t t = 0; t < s.batch * s.tokens; ++t) v[static_cast<size_t>(t * 3 * s.hidden() + s.hidden() + 3)] *= 6.0f;
  return v;
}

std::vector<float> run_int8(const AttentionShape& s, const std::vector<float>& qkv, const std::vector<int32_t>& lengths,
                            int64_t queries, Isa isa) {
  std::vector<float> ctx(static_cast<size_t>(s.batch * queries * s.hidden()), -7.0f);
  AlignedVector<uint8_t> workspace(static_cast<size_t>(attention_int8_workspace_bytes(s)));
  attention_int8(ctx.data(), workspace.data(), qkv.data(), lengths.data(), s, queries, isa);
  return ctx;
}

float max_abs_v(const AttentionShape& s, const std::vector<float>& qkv) {
  float m = 0.0f;
  for (int64_t t = 0; t < s.batch * s.tokens; ++t)
    for (int64_t c = 0; c < s.hidden(); ++c)
      m = std::max(m, std::fabs(qkv[static_cast<size_t>(t * 3 * s.hidden() + 2 * s.hidden() + c)]));
  return m;
}

struct Case {
  AttentionShape shape;
  std::vector<int32_t> lengths;
};

std::vector<Case> cases() {
  return {{{2, 37, 3, 64}, {37, 20}},    // odd lengths, padding
          {{3, 16, 2, 32}, {1, 16, 9}},  // a one-token sequence
          {{1, 53, 2, 24}, {50}},        // a head width that is not a multiple of 16
          {{2, 130, 4, 64}, {130, 77}}};
}

TEST(AttentionInt8, EqualsItsDoubleTwinOnEveryIsa) {
  for (const Case& c : cases()) {
    const AttentionShape& s = c.shape;
    const auto qkv = random_qkv(s, 11 + s.tokens);
    std::vector<float> ref(static_cast<size_t>(s.batch * s.tokens * s.hidden()));
    reference::attention_int8(ref.data(), qkv.data(), c.lengths.data(), s);
    const float step = max_abs_v(s, qkv) / 255.0f;
    for (Isa isa : test::integer_isas()) {
      const auto ctx = run_int8(s, qkv, c.lengths, s.tokens, isa);
      test::expect_near_twin(ctx, ref, s.batch, s.tokens, s.hidden(), c.lengths, step, isa);
    }
  }
}

TEST(AttentionInt8, IsasAgreeAndThreadCountsGiveTheSameBits) {
  const AttentionShape s{3, 97, 4, 64};
  const std::vector<int32_t> lengths{97, 60, 5};
  const auto qkv = random_qkv(s, 5);
  const auto first = run_int8(s, qkv, lengths, s.tokens, Isa::kScalar);
  const float step = max_abs_v(s, qkv) / 255.0f;
  for (Isa isa : test::integer_isas()) {
    const int before = num_threads();
    set_num_threads(1);
    const auto at_one = run_int8(s, qkv, lengths, s.tokens, isa);
    set_num_threads(2);
    const auto at_two = run_int8(s, qkv, lengths, s.tokens, isa);
    set_num_threads(before);
    EXPECT_EQ(at_one, at_two) << isa_name(isa);
    for (int64_t b = 0; b < s.batch; ++b)
      for (int64_t i = 0; i < lengths[static_cast<size_t>(b)]; ++i)
        for (int64_t d = 0; d < s.hidden(); ++d) {
          const size_t at = static_cast<size_t>((b * s.tokens + i) * s.hidden() + d);
          // Integer sums are equal; only the ISAs' fp32 softmaxes (summation order) differ, which
          // can move a probability's code by one.
          ASSERT_NEAR(at_one[at], first[at], 2 * step) << isa_name(isa);
        }
  }
}

TEST(AttentionInt8, ClsOnlyQueriesAreTheFirstRowsOfTheWholeLayer) {
  const AttentionShape s{2, 45, 3, 32};
  const std::vector<int32_t> lengths{45, 12};
  const auto qkv = random_qkv(s, 3);
  for (Isa isa : test::integer_isas()) {
    const auto all = run_int8(s, qkv, lengths, s.tokens, isa);
    const auto cls = run_int8(s, qkv, lengths, 1, isa);
    for (int64_t b = 0; b < s.batch; ++b)
      for (int64_t d = 0; d < s.hidden(); ++d)
        EXPECT_EQ(cls[static_cast<size_t>(b * s.hidden() + d)], all[static_cast<size_t>(b * s.tokens * s.hidden() + d)])
            << isa_name(isa);
  }
}

TEST(AttentionInt8, StaysCloseToFp32Attention) {
  const AttentionShape s{2, 128, 4, 64};
  const std::vector<int32_t> lengths{128, 90};
  const auto qkv = random_qkv(s, 9);
  std::vector<float> fp32(static_cast<size_t>(s.batch * s.tokens * s.hidden()));
  AlignedVector<float> workspace(static_cast<size_t>(attention_workspace_floats(s, s.tokens)));
  attention(fp32.data(), workspace.data(), qkv.data(), lengths.data(), s, s.tokens);
  const auto int8 = run_int8(s, qkv, lengths, s.tokens, test::integer_isas().front());
  const double error = test::relative_rms(int8, fp32, s.batch, s.tokens, s.hidden(), lengths);
  // Relative RMS error of the context: codes of 8 bits on four operands (measured ~1.5%).
  EXPECT_LT(error, 0.03);
  EXPECT_GT(error, 1e-4);  // it is quantized
}

}  // namespace
}  // namespace squish
