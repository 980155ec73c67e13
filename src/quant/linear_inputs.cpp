#include "quant/linear_inputs.h"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "model/common/tap.h"

namespace squish {

namespace {

// An observing Tap handing each included Linear its unpadded input rows; `valid` holds the copy
// made when a view has padding.
Tap linear_input_tap(const std::set<const Linear*>& included,
                     const std::function<void(const Linear&, const float*, int64_t)>& visit,
                     std::vector<float>& valid) {
  Tap tap;
  tap.mode = Tap::Mode::kObserve;
  tap.fn = [&included, &visit, &valid](const TapPoint& point, const TapView& view) {
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
  return tap;
}

}  // namespace

void observe_linear_inputs(SequenceModel& model, std::span<const TokenBatch> batches,
                           const std::function<bool(const Linear&)>& include,
                           const std::function<void(const Linear&, const float*, int64_t)>& visit,
                           const std::function<void(const TokenBatch&)>& on_batch) {
  std::set<const Linear*> included;
  for (const Linear* l : model.linears())
    if (include(*l)) included.insert(l);
  std::vector<float> valid;
  const Tap tap = linear_input_tap(included, visit, valid);
  ForwardOptions options;
  options.tap = &tap;
  for (const TokenBatch& batch : batches) {
    model.trace(batch, options);
    if (on_batch) on_batch(batch);
  }
}

void observe_subsampled_linear_inputs(SequenceModel& model, std::span<const TokenBatch> batches,
                                      const std::function<bool(const Linear&)>& include, int64_t max_rows,
                                      const std::function<void(const Linear&, const float*, int64_t)>& visit) {
  const int64_t stride = even_subsample_stride(batches, max_rows);
  std::map<const Linear*, int64_t> seen;  // rows each Linear was handed so far
  std::vector<float> kept;
  observe_linear_inputs(model, batches, include, [&](const Linear& l, const float* x, int64_t count) {
    const int64_t k = l.in_features();
    int64_t& index = seen[&l];
    kept.clear();
    for (int64_t r = 0; r < count; ++r, ++index)
      if (index % stride == 0) kept.insert(kept.end(), x + r * k, x + (r + 1) * k);
    if (!kept.empty()) visit(l, kept.data(), static_cast<int64_t>(kept.size()) / k);
  });
}

void observe_layers_in_order(SequenceModel& model, std::span<const TokenBatch> batches,
                             const std::function<bool(const Linear&)>& include,
                             const std::function<void(const Linear&, const float*, int64_t)>& visit,
                             const std::function<void(int layer)>& finish_layer) {
  const int layers = static_cast<int>(model.info().layers);
  // The included Linears of layer l (-1: outside the layers), looked up again after each change,
  // since finish_layer may give a Linear a new representation.
  const auto included_in = [&](int layer) {
    std::set<const Linear*> out;
    for (const Linear* l : model.linears())
      if ((l->layer < 0 || l->layer >= layers ? -1 : l->layer) == layer && include(*l)) out.insert(l);
    return out;
  };
  std::vector<float> valid;
  const auto trace_all = [&](const std::set<const Linear*>& included) {
    const Tap tap = linear_input_tap(included, visit, valid);
    ForwardOptions options;
    options.tap = &tap;
    for (const TokenBatch& batch : batches) model.trace(batch, options);
  };
  std::vector<AlignedVector<float>> states(batches.size());
  for (size_t i = 0; i < batches.size(); ++i) model.embed(batches[i], states[i]);
  AlignedVector<float> work;
  for (int layer = 0; layer < layers; ++layer) {
    const std::set<const Linear*> included = included_in(layer);
    const bool last = layer + 1 == layers;
    if (!included.empty() && last) {
      trace_all(included);
    } else if (!included.empty()) {
      const Tap tap = linear_input_tap(included, visit, valid);
      for (size_t i = 0; i < batches.size(); ++i) {
        work = states[i];
        model.run_layers(batches[i], work, layer, layer + 1, &tap);
      }
    }
    finish_layer(layer);
    if (!last)
      for (size_t i = 0; i < batches.size(); ++i) model.run_layers(batches[i], states[i], layer, layer + 1, nullptr);
  }
  states.clear();
  if (const std::set<const Linear*> outside = included_in(-1); !outside.empty()) trace_all(outside);
  finish_layer(-1);
}

int64_t even_subsample_stride(std::span<const TokenBatch> batches, int64_t max_rows) {
  int64_t total = 0;
  for (const TokenBatch& b : batches)
    for (int32_t len : b.lengths) total += len;
  return std::max<int64_t>(1, (total + max_rows - 1) / max_rows);
}

}  // namespace squish
