// Int8 Linears (dynamic W8A32 and static W8A8) against their fake-quant twin: the same quantized
// activations and the weights dequantized to fp32, multiplied in double.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/gemm_int8.h"
#include "kernels/reference/reference_ops.h"
#include "model/common/linear.h"
#include "model/load_model.h"
#include "model/common/int8_linear_weights.h"
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

struct LinearCase {
  int64_t m, n, k;
  Epilogue epilogue;
  bool per_channel;
  bool static_input;
  int qmax = kActivationQmax;  // kReducedActivationQmax: a --reduce_range Linear
};

class Int8LinearTest : public ::testing::TestWithParam<LinearCase> {};

TEST_P(Int8LinearTest, MatchesItsFakeQuantTwin) {
  const auto [m, n, k, epilogue, per_channel, static_input, qmax] = GetParam();
  const Tensor w = random_tensor({n, k}, 1, 0.05f), b = random_tensor({n}, 2, 0.1f), x = random_tensor({m, k}, 3, 1.0f);
  const WeightGranularity granularity = per_channel ? WeightGranularity::kPerChannel : WeightGranularity::kPerTensor;
  // A static grid narrower than x's N(0, 1) values, so clipping is exercised too.
  const std::optional<U8Params> grid =
      static_input ? std::optional(u8_params(-3.0f, 3.5f, qmax)) : std::nullopt;
  const Linear q = make_linear("l", LinearRole::kFfnIn, 0,
                               std::make_shared<Int8LinearWeights>(quantize_weights_s8(w, granularity), n, k, granularity, grid, qmax), b);
  EXPECT_EQ(q.weights->format(), static_input ? "int8-static" : "int8-dynamic");
  const Tensor y0 = random_tensor({m, n}, 4, 1.0f);  // what kAccumulate adds to
  Tensor y = y0;
  LinearWorkspace ws;
  linear_apply(q, y.data(), x.data(), m, epilogue, ws);
  // The twin: the same quantized x (the quantizer is shared; it is tested on its own above), the
  // weights as the Linear holds them, an fp32 reference matmul in double.
  std::vector<uint8_t> xq(static_cast<size_t>(m * k));
  std::vector<float> scales(static_cast<size_t>(m));
  std::vector<int32_t> zeros(static_cast<size_t>(m));
  if (grid) {
    quantize_u8(x.data(), m * k, *grid, qmax, xq.data());
    std::fill(scales.begin(), scales.end(), grid->scale);
    std::fill(zeros.begin(), zeros.end(), grid->zero_point);
  } else {
    quantize_rows_u8(x.data(), m, k, qmax, xq.data(), scales.data(), zeros.data());
  }
  for (uint8_t code : xq) ASSERT_LE(code, qmax);
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
  EXPECT_LT(std::sqrt(err / norm), static_input ? 0.05 : 0.03);
}

INSTANTIATE_TEST_SUITE_P(Shapes, Int8LinearTest,
                         ::testing::Values(
                             LinearCase{1, 64, 96, Epilogue::kNone, true, false},
                             LinearCase{37, 77, 129, Epilogue::kGelu, true, false},
                             LinearCase{16, 128, 384, Epilogue::kAccumulate, false, false},
                             LinearCase{5, 2, 64, Epilogue::kTanh, true, false},
                             LinearCase{33, 40, 96, Epilogue::kRelu, false, true},
                             LinearCase{1, 64, 96, Epilogue::kNone, true, true},
                             LinearCase{37, 77, 129, Epilogue::kGelu, true, true},
                             LinearCase{16, 128, 384, Epilogue::kAccumulate, false, true},
                             LinearCase{37, 77, 129, Epilogue::kGelu, true, false, kReducedActivationQmax},
                             LinearCase{16, 128, 384, Epilogue::kAccumulate, false, true, kReducedActivationQmax}),
                         [](const ::testing::TestParamInfo<LinearCase>& info) {
                           const LinearCase& c = info.param;
                           return "M" + std::to_string(c.m) + "_N" + std::to_string(c.n) + "_K" + std::to_string(c.k) +
                                  "_epilogue" + std::to_string(static_cast<int>(c.epilogue)) +
                                  (c.per_channel ? "_per_channel" : "_per_tensor") + (c.static_input ? "_static" : "_dynamic") +
                                  (c.qmax == kActivationQmax ? "" : "_reduced_range");
                         });

}  // namespace
}  // namespace squish
