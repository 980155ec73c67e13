#include "quant/smoothquant.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "quant/linear_inputs.h"

namespace squish {
namespace {

float spread(std::vector<float> v) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  const float median = v[v.size() / 2];
  const float top = *std::max_element(v.begin(), v.end());
  return median > 0 ? top / median : 0.0f;
}

}  // namespace

SmoothQuantResult smooth_quant(SequenceModel& model, std::span<const TokenBatch> batches, double alpha) {
  if (!(alpha >= 0.0 && alpha <= 1.0)) throw UsageError("--smoothquant " + std::to_string(alpha) + ": expected 0..1");
  std::vector<SmoothableNorm> norms = model.smoothable_norms();
  if (norms.empty())
    throw UsageError(model.info().architecture +
                     " has no pre-norm blocks: its norms also feed the residual stream, so SmoothQuant cannot "
                     "fold scales into them");
  // Each norm's readers share one input: observe the first of them.
  std::map<const Linear*, std::vector<float>> absmax;
  for (const SmoothableNorm& n : norms) absmax[n.readers.front()].assign(static_cast<size_t>(n.weight->numel()), 0.0f);
  observe_linear_inputs(
      model, batches, [&](const Linear& l) { return absmax.contains(&l); },
      [&](const Linear& l, const float* x, int64_t rows) {
        std::vector<float>& a = absmax.at(&l);
        const auto k = static_cast<int64_t>(a.size());
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < k; ++j) a[static_cast<size_t>(j)] = std::max(a[static_cast<size_t>(j)], std::fabs(x[r * k + j]));
      });
  SmoothQuantResult result;
  result.alpha = alpha;
  for (SmoothableNorm& n : norms) {
    const int64_t k = n.weight->numel();
    const std::vector<float>& a = absmax.at(n.readers.front());
    std::vector<Tensor> weights;
    std::vector<float> w(static_cast<size_t>(k), 0.0f);
    for (const Linear* l : n.readers) {
      if (l->weights->format() != "f32")
        throw Error(ExitCode::kInternal, "SmoothQuant: Linear " + l->name + " is already " +
                                             std::string(l->weights->format()) + " (smooth the fp32 model first)");
      weights.push_back(linear_dequantize(*l));
      const Tensor& t = weights.back();
      for (int64_t r = 0; r < t.dim(0); ++r)
        for (int64_t j = 0; j < k; ++j)
          w[static_cast<size_t>(j)] = std::max(w[static_cast<size_t>(j)], std::fabs(t.data()[r * k + j]));
    }
    std::vector<float> s(static_cast<size_t>(k)), after(static_cast<size_t>(k));
    for (int64_t j = 0; j < k; ++j) {
      const auto i = static_cast<size_t>(j);
      s[i] = a[i] > 0 && w[i] > 0
                 ? std::max(static_cast<float>(std::pow(a[i], alpha) / std::pow(w[i], 1.0 - alpha)), 1e-5f)
                 : 1.0f;
      after[i] = a[i] / s[i];
      n.weight->data()[j] /= s[i];
      if (n.bias) n.bias->data()[j] /= s[i];
    }
    for (size_t i = 0; i < n.readers.size(); ++i) {
      Tensor& t = weights[i];
      for (int64_t r = 0; r < t.dim(0); ++r)
        for (int64_t j = 0; j < k; ++j) t.data()[r * k + j] *= s[static_cast<size_t>(j)];
      n.readers[i]->weights = dense_f32_weights(t);
    }
    const auto [lo, hi] = std::minmax_element(s.begin(), s.end());
    result.norms.push_back({n.name, *lo, *hi, *std::max_element(a.begin(), a.end()),
                            *std::max_element(after.begin(), after.end()), spread(a), spread(after)});
  }
  return result;
}

}  // namespace squish
