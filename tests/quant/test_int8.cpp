// The int8 scheme against hand-computed cases, and dynamic W8A32 Linears against their fake-quant
// twin: the same quantized activations and weights dequantized to fp32, multiplied in double.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/gemm_int8.h"
#include "kernels/reference/reference_ops.h"
#include "model/common/linear.h"
#include "model/load_model.h"
#include "quant/int8_linear.h"
#include "quant/quantize_model.h"
#include "test_paths.h"

namespace squish {
namespace {

Tensor random_tensor(Shape shape, uint64_t seed, float scale) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  Tensor t(std::move(shape));
  for (float& v : t.values) v = d(rng);
  return t;
}

TEST(Int8Scheme, WeightsAreSymmetricPerChannelOrPerTensor) {
  Tensor w({2, 3});
  w.values = {0.5f, -1.0f, 0.25f, 0.1f, 0.2f, -0.05f};
  const Int8Weights c = quantize_weights_s8(w, true);
  ASSERT_EQ(c.scales.size(), 2u);
  EXPECT_FLOAT_EQ(c.scales[0], 1.0f / 127);
  EXPECT_FLOAT_EQ(c.scales[1], 0.2f / 127);
  // Row 0 in steps of 1/127: 63.5 -> 64 (to even), 31.75 -> 32; row 1 in steps of 0.2/127: 63.5, 127, -31.75.
  EXPECT_EQ(c.q, (std::vector<int8_t>{64, -127, 32, 64, 127, -32}));
  const Int8Weights t = quantize_weights_s8(w, false);
  ASSERT_EQ(t.scales.size(), 1u);
  EXPECT_EQ(t.q, (std::vector<int8_t>{64, -127, 32, 13, 25, -6}));  // 12.7, 25.4, -6.35
  const Tensor back = dequantize_weights_s8(c, 2, 3);
  for (size_t i = 0; i < 6; ++i) EXPECT_NEAR(back.values[i], w.values[i], c.scales[i / 3] / 2 + 1e-7) << i;
  Tensor zeros({1, 4});
  EXPECT_EQ(quantize_weights_s8(zeros, true).scales[0], 1.0f);  // no division by zero
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

struct LinearCase {
  int64_t m, n, k;
  Epilogue epilogue;
  bool per_channel;
};

class Int8LinearTest : public ::testing::TestWithParam<LinearCase> {};

TEST_P(Int8LinearTest, MatchesItsFakeQuantTwin) {
  const auto [m, n, k, epilogue, per_channel] = GetParam();
  const Tensor w = random_tensor({n, k}, 1, 0.05f), b = random_tensor({n}, 2, 0.1f), x = random_tensor({m, k}, 3, 1.0f);
  const Linear dense = make_linear("l", LinearRole::kFfnIn, 0, w, b);
  const Linear q = quantize_linear_dynamic(dense, per_channel);
  EXPECT_EQ(q.weights->format(), "int8-dynamic");
  EXPECT_EQ(q.name, "l");
  const Tensor y0 = random_tensor({m, n}, 4, 1.0f);  // what kAccumulate adds to
  Tensor y = y0;
  LinearWorkspace ws;
  linear_apply(q, y.data(), x.data(), m, epilogue, ws);
  // The twin: the same quantized x (the quantizer is shared; it is tested on its own above), the
  // weights as the Linear holds them, an fp32 reference matmul in double.
  std::vector<uint8_t> xq(static_cast<size_t>(m * k));
  std::vector<float> scales(static_cast<size_t>(m));
  std::vector<int32_t> zeros(static_cast<size_t>(m));
  quantize_rows_u8(x.data(), m, k, int8_activation_max(), xq.data(), scales.data(), zeros.data());
  Tensor x_hat({m, k});
  for (int64_t i = 0; i < m * k; ++i)
    x_hat.values[static_cast<size_t>(i)] = scales[static_cast<size_t>(i / k)] * (xq[static_cast<size_t>(i)] - zeros[static_cast<size_t>(i / k)]);
  const Tensor w_hat = linear_dequantize(q);
  Tensor ref = y0;
  reference::linear(ref.data(), x_hat.data(), w_hat.data(), b.data(), m, n, k, epilogue);
  // fp32 rounding of one product (scale_x * scale_w * exact integer sum) and of the epilogue.
  for (int64_t i = 0; i < m * n; ++i)
    ASSERT_NEAR(y.values[static_cast<size_t>(i)], ref.values[static_cast<size_t>(i)],
                1e-5 * (1 + std::fabs(ref.values[static_cast<size_t>(i)])))
        << i;
  // And the quantization error itself is small next to the fp32 result.
  Tensor exact = y0;
  reference::linear(exact.data(), x.data(), w.data(), b.data(), m, n, k, epilogue);
  double err = 0, norm = 0;
  for (int64_t i = 0; i < m * n; ++i) {
    err += std::pow(y.values[static_cast<size_t>(i)] - exact.values[static_cast<size_t>(i)], 2);
    norm += std::pow(exact.values[static_cast<size_t>(i)], 2);
  }
  EXPECT_LT(std::sqrt(err / norm), 0.03);
}

INSTANTIATE_TEST_SUITE_P(Shapes, Int8LinearTest,
                         ::testing::Values(LinearCase{1, 64, 96, Epilogue::kNone, true},
                                           LinearCase{37, 77, 129, Epilogue::kGelu, true},
                                           LinearCase{16, 128, 384, Epilogue::kAccumulate, false},
                                           LinearCase{5, 2, 64, Epilogue::kTanh, true}),
                         [](const ::testing::TestParamInfo<LinearCase>& info) {
                           const LinearCase& c = info.param;
                           return "M" + std::to_string(c.m) + "_N" + std::to_string(c.n) + "_K" + std::to_string(c.k) +
                                  "_epilogue" + std::to_string(static_cast<int>(c.epilogue)) +
                                  (c.per_channel ? "_per_channel" : "_per_tensor");
                         });

TEST(QuantizeDynamic, EncoderLinearsOnlyUnlessTheHeadIsAsked) {
  auto model = load_model(test::fixtures_dir() + "/tiny_bert");
  EXPECT_EQ(quantize_dynamic(*model, {}), 2 * 4);
  for (const Linear* l : model->linears()) {
    const bool head = l->role == LinearRole::kPooler || l->role == LinearRole::kClassifier;
    EXPECT_EQ(l->weights->format(), head ? "f32" : "int8-dynamic") << l->name;
  }
  auto all = load_model(test::fixtures_dir() + "/tiny_bert");
  EXPECT_EQ(quantize_dynamic(*all, {true, true}), 2 * 4 + 2);
  EXPECT_LT(all->resident_bytes(), model->resident_bytes());
}

}  // namespace
}  // namespace squish
