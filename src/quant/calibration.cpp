#include "quant/calibration.h"

#include <memory>
#include <vector>

#include "model/common/int8_linear_weights.h"
#include "model/common/tap.h"

namespace squish {

CalibrationResult calibrate(SequenceModel& model, std::span<const TokenBatch> batches, const ObserverOptions& observer,
                            const std::function<bool(const Linear&)>& include,
                            const std::function<void(int64_t)>& on_batch) {
  std::map<const Linear*, std::unique_ptr<RangeObserver>> observers;
  for (const Linear* l : model.linears())
    if (include(*l)) observers[l] = make_observer(observer);
  std::vector<float> valid;  // one activation's unpadded rows, gathered for its observer
  Tap tap;
  tap.mode = Tap::Mode::kObserve;
  tap.fn = [&](const TapPoint& point, const TapView& view) {
    if (point.site != TapSite::kLinearInput) return;
    const auto it = observers.find(point.linear);
    if (it == observers.end()) return;
    valid.clear();
    for (int64_t r = 0; r < view.rows; ++r)
      if (view.valid_row(r)) valid.insert(valid.end(), view.data + r * view.cols, view.data + (r + 1) * view.cols);
    it->second->observe(valid.data(), static_cast<int64_t>(valid.size()));
  };
  CalibrationResult result;
  ForwardOptions options;
  options.tap = &tap;
  std::vector<float> logits;
  for (const TokenBatch& batch : batches) {
    model.forward(batch, logits, options);
    result.sequences += batch.batch;
    for (int32_t length : batch.lengths) result.tokens += length;
    if (on_batch) on_batch(batch.batch);
  }
  // Ranges are stored for the full u8 grid; the AVX2 path re-grids them when it runs.
  result.qmax = kStoredActivationMax;
  for (const auto& [linear, obs] : observers) {
    result.input_ranges[linear->name] = obs->range(result.qmax);
    result.observer_bytes += obs->state_bytes();
  }
  return result;
}

}  // namespace squish
