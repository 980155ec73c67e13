#include "quant/calibration.h"

#include <memory>

#include "model/common/int8_linear_weights.h"
#include "quant/linear_inputs.h"

namespace squish {

CalibrationResult calibrate(SequenceModel& model, std::span<const TokenBatch> batches, const ObserverOptions& observer,
                            int qmax, const std::function<bool(const Linear&)>& include,
                            const std::function<void(int64_t)>& on_batch) {
  std::map<const Linear*, std::unique_ptr<RangeObserver>> observers;
  for (const Linear* l : model.linears())
    if (include(*l)) observers[l] = make_observer(observer);
  CalibrationResult result;
  observe_linear_inputs(
      model, batches, include,
      [&](const Linear& l, const float* rows, int64_t count) { observers.at(&l)->observe(rows, count * l.in_features()); },
      [&](const TokenBatch& batch) {
        result.sequences += batch.batch;
        for (int32_t length : batch.lengths) result.tokens += length;
        if (on_batch) on_batch(batch.batch);
      });
  result.qmax = qmax;
  for (const auto& [linear, obs] : observers) {
    result.input_ranges[linear->name] = obs->range(result.qmax);
    result.observer_bytes += obs->state_bytes();
  }
  return result;
}

}  // namespace squish
