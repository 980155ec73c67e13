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

class Int8LinearWeights final : public LinearWeights {
 public:
  // `static_input`: the calibrated grid of a static Linear; none for dynamic. Per-tensor scales are
  // per HF module, repeated over its rows in w.scales. `activation_qmax`: the activations' top code,
  // kActivationQmax or kReducedActivationQmax (static grids and dynamic rows alike).
  Int8LinearWeights(const Int8Weights& w, int64_t n, int64_t k, WeightGranularity granularity,
                    std::optional<U8Params> static_input, int activation_qmax = kActivationQmax);

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
  // The stored grid of a static Linear; none for dynamic.
  const std::optional<U8Params>& static_input() const { return static_input_; }
  int activation_qmax() const { return activation_qmax_; }

 private:
  PackedInt8Weights packed_;
  std::vector<float> scales_;  // per output row
  WeightGranularity granularity_;
  std::optional<U8Params> static_input_;
  int activation_qmax_;
  std::optional<StaticInt8Gemm> static_gemm_;  // static: the GEMM with its output stage fused
};

// The Int8LinearWeights behind a Linear, or null for another representation.
const Int8LinearWeights* int8_weights_of(const Linear& linear);

}  // namespace squish
