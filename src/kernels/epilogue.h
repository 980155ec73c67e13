// What a Linear does to its accumulated products before they land in y. Every GEMM back end
// applies the same four epilogues: oneDNN's fp32 path fuses them as post-ops; back ends that
// accumulate on their own (int8, low-bit) hand their fp32 products to apply_epilogue(), so the
// semantics live in one place with one reference twin (reference/reference_ops.h).
#pragma once

#include <cstdint>

namespace squish {

enum class Epilogue {
  kNone,        // y = acc + b
  kGelu,        // y = gelu_erf(acc + b)
  kTanh,        // y = tanh(acc + b)
  kAccumulate,  // y = y + acc + b   (the residual connection folded into the GEMM)
};

// y[m, n] = epilogue(acc[m, n] + bias[n]); bias may be null. acc may alias y except for kAccumulate.
void apply_epilogue(float* y, const float* acc, const float* bias, int64_t m, int64_t n, Epilogue epilogue);

}  // namespace squish
