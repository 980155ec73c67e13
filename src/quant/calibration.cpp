#include "quant/calibration.h"

#include <cstring>
#include <memory>
#include <vector>

#include "core/communicator.h"
#include "model/common/int8_linear_weights.h"
#include "quant/linear_inputs.h"

namespace squish {
namespace {

// Each observer's state, length-prefixed, in `order`; one collective for all of them.
std::vector<std::byte> pack_states(const std::vector<RangeObserver*>& order) {
  std::vector<std::byte> packed;
  for (const RangeObserver* o : order) {
    const std::vector<std::byte> state = o->state();
    const uint64_t size = state.size();
    const auto* size_bytes = reinterpret_cast<const std::byte*>(&size);
    packed.insert(packed.end(), size_bytes, size_bytes + sizeof size);
    packed.insert(packed.end(), state.begin(), state.end());
  }
  return packed;
}

// The ranks' observers folded into each of `order`: every rank ends with one process's observers.
void merge_across_ranks(const std::vector<RangeObserver*>& order) {
  const std::vector<std::vector<std::byte>> ranks = world().all_gather(pack_states(order));
  std::vector<size_t> at(ranks.size(), 0);
  for (RangeObserver* o : order) {
    std::vector<std::vector<std::byte>> states;
    for (size_t r = 0; r < ranks.size(); ++r) {
      uint64_t size = 0;
      std::memcpy(&size, ranks[r].data() + at[r], sizeof size);
      const auto begin = ranks[r].begin() + static_cast<std::ptrdiff_t>(at[r] + sizeof size);
      states.emplace_back(begin, begin + static_cast<std::ptrdiff_t>(size));
      at[r] += sizeof size + size;
    }
    o->merge_ranks(states);
  }
}

}  // namespace

CalibrationResult calibrate(SequenceModel& model, std::span<const TokenBatch> batches, const ObserverOptions& observer,
                            int qmax, const std::function<bool(const Linear&)>& include,
                            const std::function<void(int64_t)>& on_batch) {
  std::map<const Linear*, std::unique_ptr<RangeObserver>> observers;
  std::vector<RangeObserver*> in_model_order;  // the same on every rank
  for (const Linear* l : model.linears())
    if (include(*l)) in_model_order.push_back((observers[l] = make_observer(observer)).get());
  CalibrationResult result;
  // This rank's share of the batches (all of them in one process), merged below.
  for (size_t u = 0; u < batches.size(); ++u) {
    const TokenBatch& batch = batches[u];
    result.sequences += batch.batch;
    for (int32_t length : batch.lengths) result.tokens += length;
    if (!runs_here(static_cast<int64_t>(u))) continue;
    observe_linear_inputs(
        model, {&batch, 1}, include,
        [&](const Linear& l, const float* rows, int64_t count) {
          observers.at(&l)->observe(rows, count * l.in_features());
        },
        [&](const TokenBatch& b) {
          if (on_batch) on_batch(b.batch);
        });
  }
  if (world().size() > 1) merge_across_ranks(in_model_order);
  result.qmax = qmax;
  for (const auto& [linear, obs] : observers) {
    result.input_ranges[linear->name] = obs->range(result.qmax);
    result.observer_bytes += obs->state_bytes();
  }
  return result;
}

}  // namespace squish
