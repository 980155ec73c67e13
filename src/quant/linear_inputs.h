// The inputs of a model's Linears as inference computes them, through an observing Tap: what every
// calibration pass (static W8A8 observers, GPTQ's Hessians) is built on.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "model/common/sequence_model.h"

namespace squish {

// Runs `batches` through `model` and hands each Linear for which `include` is true its input rows,
// padding left out (copied only when the view has padding): visit(linear, rows [count, K], count).
// `on_batch` (may be null) is called after each batch.
void observe_linear_inputs(SequenceModel& model, std::span<const TokenBatch> batches,
                           const std::function<bool(const Linear&)>& include,
                           const std::function<void(const Linear&, const float*, int64_t)>& visit,
                           const std::function<void(const TokenBatch&)>& on_batch = nullptr);

}  // namespace squish
