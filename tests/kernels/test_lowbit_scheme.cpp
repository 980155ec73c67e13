// The low-bit grid's placement (kernels/lowbit_scheme.h): min/max covers the group; the MSE search
// clips outliers, is never worse than min/max, and keeps what a saved group can hold (fp16
// parameters, codes within the width).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "kernels/lowbit_scheme.h"

namespace squish {
namespace {

double squared_error(const std::vector<float>& w, GroupParams p, int bits) {
  double error = 0;
  for (float x : w) {
    const double d = x - (p.scale * group_code(x, p, bits) + p.minimum);
    error += d * d;
  }
  return error;
}

bool is_half(float v) { return half_to_float(float_to_half(v)) == v; }

TEST(GroupRange, MinMaxCoversTheGroup) {
  const std::vector<float> w = {-1.0f, 0.25f, 0.5f, 2.0f};
  const GroupParams p = group_params(w.data(), 4, 2);
  EXPECT_EQ(p.minimum, -1.0f);
  EXPECT_EQ(p.scale, 1.0f);  // (2 − (−1)) / 3
}

// 63 weights in [−0.1, 0.1] and one at 1: min/max spends the 4 levels on the outlier's range
// (step 0.37: the bulk rounds to −0.1 or 0.27, squared error about 0.9); clipping the top keeps the
// bottom exact and gives the bulk a finer grid (the outlier's own error is then at most 0.7²).
TEST(GroupRange, MseSearchClipsAnOutlier) {
  std::vector<float> w;
  for (int i = 0; i < 63; ++i) w.push_back(-0.1f + 0.2f * static_cast<float>(i) / 62);
  w.push_back(1.0f);
  const GroupParams minmax = group_params(w.data(), 64, 2);
  const GroupParams searched = group_params_mse(w.data(), 64, 2);
  EXPECT_LT(squared_error(w, searched, 2), 0.8 * squared_error(w, minmax, 2));
  EXPECT_LT(searched.scale, minmax.scale);
}

// Gaussian groups at every width: never worse than min/max, parameters fp16, and clearly better at
// 2 bits on average (the case the embeddings need).
TEST(GroupRange, MseSearchIsNeverWorseThanMinMax) {
  std::mt19937_64 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  for (int bits : {2, 3, 4}) {
    double total_minmax = 0, total_searched = 0;
    for (int group = 0; group < 200; ++group) {
      std::vector<float> w(64);
      for (float& x : w) x = normal(rng) + (group % 3 == 0 ? 0.1f : 0.0f);
      const GroupParams minmax = group_params(w.data(), 64, bits);
      const GroupParams searched = group_params_mse(w.data(), 64, bits);
      const double e_minmax = squared_error(w, minmax, bits), e_searched = squared_error(w, searched, bits);
      ASSERT_LE(e_searched, e_minmax) << bits << " bits, group " << group;
      ASSERT_TRUE(is_half(searched.scale) && is_half(searched.minimum)) << bits << " bits, group " << group;
      ASSERT_GT(searched.scale, 0.0f);
      total_minmax += e_minmax;
      total_searched += e_searched;
    }
    if (bits == 2) {
      EXPECT_LT(total_searched, 0.8 * total_minmax);
    }
  }
}

TEST(GroupRange, ConstantGroupsStayExact) {
  const std::vector<float> w(32, 0.75f);
  const GroupParams p = group_params_mse(w.data(), 32, 2);
  EXPECT_EQ(squared_error(w, p, 2), 0.0);
}

// The quantizer with the search: codes within the width, and each group's parameters the ones
// group_params_mse gives it alone (rows run on threads, one group never depends on another).
TEST(GroupRange, QuantizerUsesTheSearchPerGroup) {
  std::mt19937_64 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t n = 37, k = 128, group = 32;
  std::vector<float> w(n * k);
  for (float& x : w) x = normal(rng);
  const GroupQuantized q = quantize_groups_rtn(w.data(), n, k, 2, group, GroupRange::kMseSearch);
  for (uint8_t c : q.codes) ASSERT_LE(c, 3);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t g = 0; g < k / group; ++g) {
      const GroupParams p = group_params_mse(w.data() + r * k + g * group, group, 2);
      ASSERT_EQ(q.scales[r * (k / group) + g], p.scale) << r << ", " << g;
      ASSERT_EQ(q.minimums[r * (k / group) + g], p.minimum) << r << ", " << g;
    }
}

// After the search rows come out shorter than W's; matching norms makes each dequantized row's norm
// W's within fp16 rounding, with the codes untouched and every row scaled by its own factor.
TEST(GroupRange, MatchRowNormsRestoresEachRowsNorm) {
  std::mt19937_64 rng(5);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  const int64_t n = 9, k = 384, group = 64;
  std::vector<float> w(n * k);
  for (int64_t i = 0; i < n * k; ++i) w[i] = normal(rng) * static_cast<float>(1 + i / k);  // rows of growing norm
  GroupQuantized q = quantize_groups_rtn(w.data(), n, k, 2, group, GroupRange::kMseSearch);
  const std::vector<uint8_t> codes = q.codes;
  auto row_norm = [&](const std::vector<float>& v, int64_t r) {
    double s = 0;
    for (int64_t c = 0; c < k; ++c) s += static_cast<double>(v[r * k + c]) * v[r * k + c];
    return std::sqrt(s);
  };
  std::vector<float> before(n * k), after(n * k);
  dequantize_groups(q, before.data());
  match_row_norms(q, w.data());
  dequantize_groups(q, after.data());
  EXPECT_EQ(q.codes, codes);
  double ratio_before = 0;
  for (int64_t r = 0; r < n; ++r) ratio_before += row_norm(before, r) / row_norm(w, r) / n;
  EXPECT_LT(ratio_before, 0.99);  // the search shrinks rows on average
  for (int64_t r = 0; r < n; ++r) {
    EXPECT_NEAR(row_norm(after, r), row_norm(w, r), 2e-3 * row_norm(w, r)) << "row " << r;
    for (int64_t g = 0; g < k / group; ++g) {
      ASSERT_TRUE(is_half(q.scales[r * (k / group) + g]) && is_half(q.minimums[r * (k / group) + g]));
    }
  }
}

}  // namespace
}  // namespace squish
