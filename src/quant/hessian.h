// The second-order statistics GPTQ needs of a Linear's input: H = 2/n Σ x xᵀ over the n input rows
// (tokens) seen, the Hessian of the layer-wise loss ‖X Wᵀ − X Qᵀ‖² with respect to one output row.
// The factor 2/n is the paper's (Frantar et al. 2022, eq. 2 and the authors' accumulation, which
// averages over samples); GPTQ itself does not depend on it, since dampening is relative to the mean
// diagonal. Rows are accumulated in fp32 GEMM chunks (oneDNN) and the chunks summed in double, so
// millions of tokens lose no precision. Memory is K² doubles per Linear.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "model/common/sequence_model.h"

namespace squish {

class HessianAccumulator {
 public:
  explicit HessianAccumulator(int64_t k);

  // Adds the rows of x[rows, k] (row-major). Padding rows must not be passed.
  void add(const float* x, int64_t rows);

  int64_t k() const { return k_; }
  int64_t rows() const { return rows_; }
  int64_t state_bytes() const { return static_cast<int64_t>(upper_sum_.size() * sizeof(double)); }
  // H = 2/rows · Σ x xᵀ, [k, k] row-major and exactly symmetric. DataError when no rows were added.
  std::vector<double> hessian() const;

 private:
  int64_t k_;
  int64_t rows_ = 0;
  std::vector<double> upper_sum_;  // Σ x xᵀ, [k, k]; only the upper triangle (j >= i) is kept
};

// Runs `batches` through the fp32 model and accumulates one Hessian per Linear for which `include` is
// true, keyed by Linear name, from its input as the Tap shows it (padding rows left out). A fused QKV
// Linear has one input and so one Hessian. `on_batch` (may be null) is called after each batch with
// its sequence count.
std::map<std::string, HessianAccumulator> collect_hessians(SequenceModel& model, std::span<const TokenBatch> batches,
                                                           const std::function<bool(const Linear&)>& include,
                                                           const std::function<void(int64_t)>& on_batch = nullptr);

}  // namespace squish
