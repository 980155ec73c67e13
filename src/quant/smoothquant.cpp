#include "quant/smoothquant.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "quant/channel_scales.h"
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
  std::vector<SmoothableInput> inputs = model.smoothable_inputs();
  if (inputs.empty())
    throw UsageError(model.info().architecture +
                     " has no pre-norm blocks: its norms also feed the residual stream, so SmoothQuant cannot "
                     "fold scales into them");
  // Each activation's readers share it: observe the first of them. Measured once on the model as
  // given; every smoothing keeps the function, so the maxima stay valid while the others are applied.
  std::map<const Linear*, std::vector<float>> absmax;
  for (const SmoothableInput& in : inputs)
    absmax[in.readers.front()].assign(static_cast<size_t>(in.readers.front()->in_features()), 0.0f);
  observe_linear_inputs(
      model, batches, [&](const Linear& l) { return absmax.contains(&l); },
      [&](const Linear& l, const float* x, int64_t rows) {
        std::vector<float>& a = absmax.at(&l);
        const auto k = static_cast<int64_t>(a.size());
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < k; ++j)
            a[static_cast<size_t>(j)] = std::max(a[static_cast<size_t>(j)], std::fabs(x[r * k + j]));
      });
  SmoothQuantResult result;
  result.alpha = alpha;
  for (SmoothableInput& in : inputs) {
    const std::vector<float>& a = absmax.at(in.readers.front());
    const auto k = static_cast<int64_t>(a.size());
    std::vector<float> w(static_cast<size_t>(k), 0.0f);
    for (const Linear* l : in.readers) {
      const Tensor t = fp32_weights_to_scale(*l);
      for (int64_t r = 0; r < t.dim(0); ++r)
        for (int64_t j = 0; j < k; ++j)
          w[static_cast<size_t>(j)] = std::max(w[static_cast<size_t>(j)], std::fabs(t.data()[r * k + j]));
    }
    std::vector<float> s(static_cast<size_t>(k)), after(static_cast<size_t>(k));
    for (size_t j = 0; j < s.size(); ++j) {
      s[j] = a[j] > 0 && w[j] > 0
                 ? std::max(static_cast<float>(std::pow(a[j], alpha) / std::pow(w[j], 1.0 - alpha)), 1e-5f)
                 : 1.0f;
      after[j] = a[j] / s[j];
    }
    apply_channel_scales(in, s);
    const auto [lo, hi] = std::minmax_element(s.begin(), s.end());
    result.inputs.push_back({in.name, *lo, *hi, *std::max_element(a.begin(), a.end()),
                             *std::max_element(after.begin(), after.end()), spread(a), spread(after)});
  }
  return result;
}

}  // namespace squish
