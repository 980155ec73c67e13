#include "quant/hessian.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <string>

#include "core/error.h"
#include "quant/linear_inputs.h"

namespace squish {
namespace {

// Rows per fp32 GEMM: long enough for the GEMM to run near peak, short enough that the fp32 sums of
// one chunk keep ~1e-6 relative precision before they join the double total.
constexpr int64_t kChunkRows = 512;

}  // namespace

HessianAccumulator::HessianAccumulator(int64_t k) : k_(k) {
  if (k <= 0) throw ShapeError("Hessian: input dimension " + std::to_string(k) + " (expected > 0)");
  upper_sum_.assign(static_cast<size_t>(k * k), 0.0);
}

void HessianAccumulator::add(const float* x, int64_t rows) {
  if (rows <= 0) return;
  std::vector<float> chunk_sum(static_cast<size_t>(k_ * k_));
  for (int64_t first = 0; first < rows; first += kChunkRows) {
    const int64_t count = std::min(kChunkRows, rows - first);
    // Row-major C[k, k] = Xᵀ X for this chunk.
    const dnnl_status_t status = dnnl_sgemm('T', 'N', k_, k_, count, 1.0f, x + first * k_, k_, x + first * k_, k_,
                                            0.0f, chunk_sum.data(), k_);
    if (status != dnnl_success)
      throw Error(ExitCode::kInternal, "Hessian: oneDNN sgemm failed (status " + std::to_string(status) + ") for " +
                                           std::to_string(count) + " rows of width " + std::to_string(k_));
#pragma omp parallel for schedule(dynamic, 16)
    for (int64_t i = 0; i < k_; ++i)
      for (int64_t j = i; j < k_; ++j) upper_sum_[static_cast<size_t>(i * k_ + j)] += chunk_sum[static_cast<size_t>(i * k_ + j)];
  }
  rows_ += rows;
}

std::vector<double> HessianAccumulator::state() const {
  std::vector<double> out{static_cast<double>(rows_)};
  out.insert(out.end(), upper_sum_.begin(), upper_sum_.end());
  return out;
}

void HessianAccumulator::merge(std::span<const double> state) {
  if (state.size() != upper_sum_.size() + 1)
    throw Error(ExitCode::kInternal, "Hessian merge: a state of " + std::to_string(state.size()) + " values for a " +
                                         std::to_string(k_) + "-wide input");
  rows_ += static_cast<int64_t>(state[0]);
  for (size_t i = 0; i < upper_sum_.size(); ++i) upper_sum_[i] += state[i + 1];
}

std::vector<double> HessianAccumulator::hessian() const {
  if (rows_ == 0) throw DataError("Hessian of a " + std::to_string(k_) + "-wide input: no rows were seen (expected calibration tokens)");
  const double factor = 2.0 / static_cast<double>(rows_);
  std::vector<double> h(upper_sum_.size());
  for (int64_t i = 0; i < k_; ++i)
    for (int64_t j = i; j < k_; ++j) {
      const double v = factor * upper_sum_[static_cast<size_t>(i * k_ + j)];
      h[static_cast<size_t>(i * k_ + j)] = v;
      h[static_cast<size_t>(j * k_ + i)] = v;
    }
  return h;
}

std::map<std::string, HessianAccumulator> collect_hessians(SequenceModel& model, std::span<const TokenBatch> batches,
                                                           const std::function<bool(const Linear&)>& include,
                                                           const std::function<void(int64_t)>& on_batch) {
  std::map<std::string, HessianAccumulator> hessians;
  std::map<const Linear*, HessianAccumulator*> by_linear;
  for (const Linear* l : model.linears())
    if (include(*l)) by_linear[l] = &hessians.emplace(l->name, HessianAccumulator(l->in_features())).first->second;
  observe_linear_inputs(
      model, batches, include, [&](const Linear& l, const float* rows, int64_t count) { by_linear.at(&l)->add(rows, count); },
      [&](const TokenBatch& batch) {
        if (on_batch) on_batch(batch.batch);
      });
  return hessians;
}

}  // namespace squish
