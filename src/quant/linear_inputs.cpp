#include "quant/linear_inputs.h"

#include <set>
#include <vector>

#include "model/common/tap.h"

namespace squish {

void observe_linear_inputs(SequenceModel& model, std::span<const TokenBatch> batches,
                           const std::function<bool(const Linear&)>& include,
                           const std::function<void(const Linear&, const float*, int64_t)>& visit,
                           const std::function<void(const TokenBatch&)>& on_batch) {
  std::set<const Linear*> included;
  for (const Linear* l : model.linears())
    if (include(*l)) included.insert(l);
  std::vector<float> valid;  // one activation's unpadded rows, gathered when it has padding
  Tap tap;
  tap.mode = Tap::Mode::kObserve;
  tap.fn = [&](const TapPoint& point, const TapView& view) {
    if (point.site != TapSite::kLinearInput || !included.count(point.linear)) return;
    int64_t valid_rows = 0;
    for (int64_t r = 0; r < view.rows; ++r) valid_rows += view.valid_row(r);
    if (valid_rows == view.rows) {
      visit(*point.linear, view.data, view.rows);
      return;
    }
    valid.clear();
    for (int64_t r = 0; r < view.rows; ++r)
      if (view.valid_row(r)) valid.insert(valid.end(), view.data + r * view.cols, view.data + (r + 1) * view.cols);
    visit(*point.linear, valid.data(), valid_rows);
  };
  ForwardOptions options;
  options.tap = &tap;
  for (const TokenBatch& batch : batches) {
    model.trace(batch, options);
    if (on_batch) on_batch(batch);
  }
}

}  // namespace squish
