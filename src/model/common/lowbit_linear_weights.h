// Weight-only compressed Linears behind the Linear seam: 2/4-bit groups ("int4-g64", "int2-g64",
// kernels/lowbit_scheme.h) and fp16 ("f16"). Each keeps only its packed form (no fp32 copy) and
// multiplies with the kernels of kernels/gemm_lowbit.h. Mixed-precision plans choose among these,
// int8-dynamic (8 bits) and f32.
#pragma once

#include <memory>

#include "kernels/gemm_lowbit.h"
#include "model/common/linear.h"

namespace squish {

class GroupLinearWeights final : public LinearWeights {
 public:
  explicit GroupLinearWeights(const GroupQuantized& q);

  std::string_view format() const override { return format_; }
  int64_t out_features() const override { return packed_.n(); }
  int64_t in_features() const override { return packed_.k(); }
  int64_t bytes() const override { return packed_.bytes(); }
  Tensor dequantize() const override;
  void apply(float* y, const float* x, const float* bias, int64_t m, Epilogue epilogue,
             LinearWorkspace& workspace) const override;
  std::vector<TensorToWrite> stored_rows(int64_t first, int64_t rows) const override;

 private:
  PackedLowBitWeights packed_;
  std::string format_;
};

class F16LinearWeights final : public LinearWeights {
 public:
  F16LinearWeights(const std::vector<uint16_t>& halves, int64_t n, int64_t k);

  std::string_view format() const override { return "f16"; }
  int64_t out_features() const override { return packed_.n(); }
  int64_t in_features() const override { return packed_.k(); }
  int64_t bytes() const override { return packed_.bytes(); }
  Tensor dequantize() const override;
  void apply(float* y, const float* x, const float* bias, int64_t m, Epilogue epilogue,
             LinearWorkspace& workspace) const override;
  std::vector<TensorToWrite> stored_rows(int64_t first, int64_t rows) const override;

 private:
  PackedF16Weights packed_;
};

// fp32 weights [N, K] rounded to fp16 (round-to-nearest-even).
std::vector<uint16_t> round_to_f16(const Tensor& w);

}  // namespace squish
