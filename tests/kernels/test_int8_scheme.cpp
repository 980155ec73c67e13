// The int8 convention (kernels/int8_scheme.h) against hand-computed cases.
#include <gtest/gtest.h>

#include "kernels/int8_scheme.h"

namespace squish {
namespace {

TEST(Int8Scheme, WeightsAreSymmetricPerChannelOrPerTensor) {
  Tensor w({2, 3});
  w.values = {0.5f, -1.0f, 0.25f, 0.1f, 0.2f, -0.05f};
  const Int8Weights c = quantize_weights_s8(w, WeightGranularity::kPerChannel);
  ASSERT_EQ(c.scales.size(), 2u);
  EXPECT_FLOAT_EQ(c.scales[0], 1.0f / 127);
  EXPECT_FLOAT_EQ(c.scales[1], 0.2f / 127);
  // Row 0 in steps of 1/127: 63.5 -> 64 (to even), 31.75 -> 32; row 1 in steps of 0.2/127: 63.5, 127, -31.75.
  EXPECT_EQ(c.q, (std::vector<int8_t>{64, -127, 32, 64, 127, -32}));
  const Int8Weights t = quantize_weights_s8(w, WeightGranularity::kPerTensor);
  EXPECT_EQ(t.scales, (std::vector<float>{1.0f / 127, 1.0f / 127}));  // one scale, repeated per row
  EXPECT_EQ(t.q, (std::vector<int8_t>{64, -127, 32, 13, 25, -6}));  // 12.7, 25.4, -6.35
  const Tensor back = dequantize_weights_s8(c, 2, 3);
  for (size_t i = 0; i < 6; ++i) EXPECT_NEAR(back.values[i], w.values[i], c.scales[i / 3] / 2 + 1e-7) << i;
  Tensor zeros({1, 4});
  EXPECT_EQ(quantize_weights_s8(zeros, WeightGranularity::kPerChannel).scales[0], 1.0f);  // no division by zero
}

TEST(Int8Scheme, PerTensorMeansPerHfModuleInAFusedLinear) {
  // Rows 0-1 are one module (max 1.0), row 2 another (max 0.5): Q, K and V keep their own scales.
  Tensor w({3, 2});
  w.values = {1.0f, -0.5f, 0.25f, 0.0f, 0.5f, -0.25f};
  const int64_t modules[] = {2, 1};
  const Int8Weights t = quantize_weights_s8(w, WeightGranularity::kPerTensor, modules);
  EXPECT_EQ(t.scales, (std::vector<float>{1.0f / 127, 1.0f / 127, 0.5f / 127}));
  EXPECT_EQ(t.q, (std::vector<int8_t>{127, -64, 32, 0, 127, -64}));  // -63.5 -> -64, 31.75 -> 32
  // Given the scales back, quantization re-creates the same codes (what reloading relies on).
  EXPECT_EQ(quantize_weights_with_scales(dequantize_weights_s8(t, 3, 2), t.scales), t.q);
}

TEST(Int8Scheme, ActivationRangesContainZeroAndMapItExactly) {
  const U8Params p = u8_params(-1.0f, 2.0f, 255);
  EXPECT_FLOAT_EQ(p.scale, 3.0f / 255);
  EXPECT_EQ(p.zero_point, 85);
  const U8Params positive = u8_params(0.5f, 2.0f, 255);  // widened to [0, 2]
  EXPECT_FLOAT_EQ(positive.scale, 2.0f / 255);
  EXPECT_EQ(positive.zero_point, 0);
  EXPECT_EQ(u8_params(-2.0f, -1.0f, 128).zero_point, 128);  // widened to [-2, 0]
  const float x[] = {-1.0f, 0.0f, 2.0f, 0.5f};
  uint8_t q[4];
  float scale;
  int32_t zero;
  quantize_rows_u8(x, 1, 4, 255, q, &scale, &zero);
  EXPECT_EQ(q[0], 0);
  EXPECT_EQ(q[1], 85);  // zero is exactly the zero point
  EXPECT_EQ(q[2], 255);
  EXPECT_EQ(q[3], 128);  // 0.5 / (3/255) + 85 = 127.5, rounded half up
}

TEST(Int8Scheme, StaticGridsClamp) {
  const U8Params p = u8_params(-1.0f, 2.0f, 255);
  const float x[] = {-5.0f, -1.0f, 0.0f, 1.0f, 9.0f};
  uint8_t q[5];
  quantize_u8(x, 5, p, 255, q);
  EXPECT_EQ(q[0], 0);    // clipped below
  EXPECT_EQ(q[1], 0);
  EXPECT_EQ(q[2], 85);
  EXPECT_EQ(q[3], 170);  // 1 / (3/255) + 85
  EXPECT_EQ(q[4], 255);  // clipped above
}

}  // namespace
}  // namespace squish
