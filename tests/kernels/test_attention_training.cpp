// attention_train_forward / attention_backward (kernels/attention_training.h) against their double
// twins, against the inference attention (same probabilities without dropout), and the backward
// against central differences of the reference forward — with padded sequences and dropout on.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "gradient_check.h"
#include "kernels/attention.h"
#include "kernels/attention_training.h"
#include "kernels/reference/training_reference.h"
#include "kernels/training_ops.h"

namespace squish {
namespace {

using testing_support::central_differences;
using testing_support::random_vector;
using testing_support::weighted_sum;

struct AttentionCase {
  AttentionShape shape;
  std::vector<int32_t> lengths;
  float p;  // 0: no dropout mask
  std::vector<float> qkv, d_ctx;
  std::vector<uint8_t> keep;

  const uint8_t* keep_or_null() const { return keep.empty() ? nullptr : keep.data(); }
  int64_t qkv_floats() const { return shape.batch * shape.tokens * 3 * shape.hidden(); }
  int64_t ctx_floats() const { return shape.batch * shape.tokens * shape.hidden(); }
};

AttentionCase make_case(AttentionShape s, std::vector<int32_t> lengths, float p, uint64_t seed) {
  AttentionCase c{s, std::move(lengths), p, {}, {}, {}};
  c.qkv = random_vector(c.qkv_floats(), seed, -1.5f, 1.5f);
  c.d_ctx = random_vector(c.ctx_floats(), seed + 1);
  if (p > 0) {
    c.keep.resize(attention_probs_floats(s));
    dropout_mask(c.keep.data(), static_cast<int64_t>(c.keep.size()), p, seed + 2);
  }
  return c;
}

struct Outputs {
  std::vector<float> ctx, probs, d_qkv;
};

Outputs run_fast(const AttentionCase& c) {
  Outputs o{std::vector<float>(c.ctx_floats()), std::vector<float>(attention_probs_floats(c.shape)),
            std::vector<float>(c.qkv_floats(), 77.0f)};  // garbage: every element must be written
  attention_train_forward(o.ctx.data(), o.probs.data(), c.qkv.data(), c.lengths.data(), c.keep_or_null(), c.p, c.shape);
  std::vector<float> workspace(attention_backward_workspace_floats(c.shape));
  attention_backward(o.d_qkv.data(), workspace.data(), c.d_ctx.data(), c.qkv.data(), o.probs.data(), c.lengths.data(),
                     c.keep_or_null(), c.p, c.shape);
  return o;
}

// Error model: scores are HD-term fp32 dots of entries <= 1.5 (γ_HD · 2.25·HD), softmax's exp is a
// few ulp, and ctx / dQ / dK / dV are sums of T terms, so all are within ~(HD + T)·u·(their
// absolute mass) of the twin. The masses here are O(1..10); tolerance 2e-5 · (1 + |ref|) covers
// T, HD <= 64 with margin (64+64)·6e-8·10 = 7.7e-5 worst case, ~1e-6 typical.
void expect_matches_reference(const AttentionCase& c, const char* label) {
  const Outputs fast = run_fast(c);
  std::vector<float> ctx(c.ctx_floats()), probs(attention_probs_floats(c.shape)), d_qkv(c.qkv_floats());
  reference::attention_train_forward(ctx.data(), probs.data(), c.qkv.data(), c.lengths.data(), c.keep_or_null(), c.p,
                                     c.shape);
  reference::attention_backward(d_qkv.data(), c.d_ctx.data(), c.qkv.data(), probs.data(), c.lengths.data(),
                                c.keep_or_null(), c.p, c.shape);
  for (size_t i = 0; i < probs.size(); ++i) ASSERT_NEAR(fast.probs[i], probs[i], 2e-6) << label << " probs " << i;
  for (size_t i = 0; i < ctx.size(); ++i) ASSERT_NEAR(fast.ctx[i], ctx[i], 2e-5 * (1 + std::fabs(ctx[i]))) << label;
  for (size_t i = 0; i < d_qkv.size(); ++i)
    ASSERT_NEAR(fast.d_qkv[i], d_qkv[i], 2e-5 * (1 + std::fabs(d_qkv[i]))) << label << " d_qkv " << i;
  // Padded keys: probability exactly 0 and exactly zero dK, dV.
  const AttentionShape& s = c.shape;
  const int64_t T = s.tokens, H = s.hidden();
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t t = c.lengths[b]; t < T; ++t) {
      for (int64_t h = 0; h < s.heads; ++h)
        for (int64_t i = 0; i < T; ++i) ASSERT_EQ(fast.probs[((b * s.heads + h) * T + i) * T + t], 0.0f);
      for (int64_t j = H; j < 3 * H; ++j) ASSERT_EQ(fast.d_qkv[(b * T + t) * 3 * H + j], 0.0f) << label;
    }
}

TEST(TrainingAttention, MatchesReferenceWithPaddingAndDropout) {
  const AttentionShape s{3, 33, 3, 16};
  expect_matches_reference(make_case(s, {33, 7, 1}, 0.0f, 1), "no dropout");
  expect_matches_reference(make_case(s, {33, 7, 1}, 0.1f, 2), "dropout 0.1");
  expect_matches_reference(make_case({2, 64, 2, 64}, {64, 40}, 0.1f, 3), "HD 64");
}

// Without dropout the training forward is the inference attention, keeping P.
TEST(TrainingAttention, ForwardIsTheInferenceAttention) {
  const AttentionCase c = make_case({2, 40, 4, 16}, {40, 13}, 0.0f, 4);
  const Outputs fast = run_fast(c);
  std::vector<float> ctx(c.ctx_floats()), workspace(attention_workspace_floats(c.shape, c.shape.tokens));
  attention(ctx.data(), workspace.data(), c.qkv.data(), c.lengths.data(), c.shape, c.shape.tokens);
  for (size_t i = 0; i < ctx.size(); ++i) ASSERT_NEAR(fast.ctx[i], ctx[i], 2e-5 * (1 + std::fabs(ctx[i])));
}

// L = Σ d_ctx · ctx(qkv) by central differences on the reference forward (fp32 ctx, mass
// Σ|d_ctx·ctx| <= B·T·H · 1.5 = 180 here): h = 1/64 gives roundoff 2^-24 · 180 · 64 = 6.9e-4 and
// truncation h²/6·|L'''| ~ 4e-5·|L'''|; tolerance 2e-3, against gradients of order 0.1..1.
void expect_gradient(const AttentionCase& c, const char* label) {
  const Outputs fast = run_fast(c);
  const auto fd = central_differences(c.qkv, [&](const std::vector<float>& qkv) {
    std::vector<float> ctx(c.ctx_floats()), probs(attention_probs_floats(c.shape));
    reference::attention_train_forward(ctx.data(), probs.data(), qkv.data(), c.lengths.data(), c.keep_or_null(), c.p,
                                       c.shape);
    return weighted_sum(c.d_ctx, ctx);
  }, 1.0f / 64);
  for (size_t i = 0; i < fd.size(); ++i) ASSERT_NEAR(fast.d_qkv[i], fd[i], 2e-3) << label << " qkv " << i;
}

TEST(TrainingAttention, BackwardIsTheForwardsGradient) {
  const AttentionShape s{2, 5, 2, 4};
  expect_gradient(make_case(s, {5, 3}, 0.0f, 10), "no dropout");
  expect_gradient(make_case(s, {5, 3}, 0.3f, 11), "dropout 0.3");
  expect_gradient(make_case(s, {2, 1}, 0.3f, 12), "one valid key");
}

TEST(TrainingAttention, IdenticalAtOneAndTwoThreads) {
  const AttentionCase c = make_case({4, 32, 4, 16}, {32, 9, 20, 1}, 0.1f, 20);
  const int before = omp_get_max_threads();
  omp_set_num_threads(1);
  const Outputs one = run_fast(c);
  omp_set_num_threads(2);
  const Outputs two = run_fast(c);
  omp_set_num_threads(before);
  EXPECT_EQ(one.ctx, two.ctx);
  EXPECT_EQ(one.probs, two.probs);
  EXPECT_EQ(one.d_qkv, two.d_qkv);
}

TEST(TrainingAttention, LengthsOutOfRangeAreShapeErrors) {
  AttentionCase c = make_case({2, 4, 1, 4}, {4, 4}, 0.0f, 30);
  c.lengths[1] = 5;
  EXPECT_THROW(run_fast(c), ShapeError);
  c.lengths[1] = 0;
  EXPECT_THROW(run_fast(c), ShapeError);
}

}  // namespace
}  // namespace squish
