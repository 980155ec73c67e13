// Int8 weights behind the Linear seam (the convention is kernels/int8_scheme.h): W8A32 "dynamic",
// whose activations are quantized per row from their own min/max at run time, and W8A8 "static",
// whose activations use one grid fixed by calibration. Either way the product runs on the int8
// GEMM in exact int32, and dequantization, bias and the Linear's epilogue follow in one pass
// (kernels/epilogue.h). The model's forward pass does not change with the scheme.
#pragma once

#include <memory>
#include <optional>

#include "kernels/gemm_int8.h"
#include "kernels/int8_scheme.h"
#include "model/common/linear.h"

namespace squish {

// The qmax a static grid is stored for: the VNNI path's full u8 range. The AVX2 path re-grids the
// same range onto its 128 steps when it loads (u8_params_regrid).
constexpr int kStoredActivationMax = 255;

class Int8LinearWeights final : public LinearWeights {
 public:
  // `static_input`: the calibrated grid (for kStoredActivationMax steps) of a static Linear; none
  // for dynamic. Per-tensor scales are per HF module, repeated over its rows in w.scales.
  Int8LinearWeights(const Int8Weights& w, int64_t n, int64_t k, WeightGranularity granularity,
                    std::optional<U8Params> static_input);

  std::string_view format() const override;
  int64_t out_features() const override;
  int64_t in_features() const override;
  int64_t bytes() const override;
  Tensor dequantize() const override;
  void apply(float* y, const float* x, const float* bias, int64_t m, Epilogue epilogue,
             LinearWorkspace& workspace) const override;
  std::vector<TensorToWrite> stored_rows(int64_t first, int64_t rows) const override;

  WeightGranularity granularity() const { return granularity_; }
  const std::vector<float>& scales() const { return scales_; }
  // The stored (kStoredActivationMax) grid of a static Linear; none for dynamic.
  const std::optional<U8Params>& static_input() const { return static_input_; }

 private:
  PackedInt8Weights packed_;
  std::vector<float> scales_;  // per output row
  WeightGranularity granularity_;
  std::optional<U8Params> static_input_;
  U8Params runtime_input_{1.0f, 0};  // static_input_ on this machine's qmax
  std::optional<StaticInt8Gemm> static_gemm_;  // static: the GEMM with its output stage fused
};

// The Int8LinearWeights behind a Linear, or null for another representation.
const Int8LinearWeights* int8_weights_of(const Linear& linear);

}  // namespace squish
