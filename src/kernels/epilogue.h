// What a Linear does to its accumulated products before they land in y. Every GEMM back end
// applies the same five epilogues: oneDNN's fp32 path fuses them as post-ops; back ends that
// accumulate in integers (int8 today, low-bit next) hand their int32 products to
// apply_dequant_epilogue(), so the semantics live in one place with one reference twin
// (reference/reference_ops.h).
#pragma once

#include <cstdint>

namespace squish {

enum class Epilogue {
  kNone,        // y = acc + b
  kGelu,        // y = gelu_erf(acc + b)
  kTanh,        // y = tanh(acc + b)
  kAccumulate,  // y = y + acc + b   (the residual connection folded into the GEMM)
  kRelu,        // y = max(acc + b, 0)   (OPT's feed-forward)
};

// An integer GEMM's int32 products, dequantized, biased and finished in one pass:
//   y[i, j] = epilogue(row_scales[i] * col_scales[j] * (acc[i, j] - row_zero_points[i] * col_sums[j]) + bias[j])
// (real = scale * (q - zero_point) on both sides, kernels/int8_scheme.h). bias may be null.
void apply_dequant_epilogue(float* y, const int32_t* acc, const float* row_scales, const int32_t* row_zero_points,
                            const float* col_scales, const int32_t* col_sums, const float* bias, int64_t m, int64_t n,
                            Epilogue epilogue);

// The activation part of an epilogue, in place over `count` values: GELU-erf, tanh or ReLU (nothing for
// kNone and kAccumulate), vectorised by oneDNN. For back ends that add bias and residual themselves.
void apply_activation(float* y, int64_t count, Epilogue epilogue);

}  // namespace squish
