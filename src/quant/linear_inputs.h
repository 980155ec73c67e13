// The inputs of a model's Linears as inference computes them, through an observing Tap: what every
// calibration pass (static W8A8 observers, GPTQ's Hessians) is built on.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "model/common/sequence_model.h"

namespace squish {

// The stride of an even subsample of at most max_rows of the batches' valid tokens: keeping every
// stride-th row a Linear is handed keeps the same token positions for every Linear (the channel-scale
// searches, AWQ's and SmoothQuant's auto, score their candidates on such a subsample).
int64_t even_subsample_stride(std::span<const TokenBatch> batches, int64_t max_rows);

// Runs `batches` through `model` and hands each Linear for which `include` is true its input rows,
// padding left out (copied only when the view has padding): visit(linear, rows [count, K], count).
// `on_batch` (may be null) is called after each batch.
void observe_linear_inputs(SequenceModel& model, std::span<const TokenBatch> batches,
                           const std::function<bool(const Linear&)>& include,
                           const std::function<void(const Linear&, const float*, int64_t)>& visit,
                           const std::function<void(const TokenBatch&)>& on_batch = nullptr);

// observe_linear_inputs on an even subsample of at most max_rows of the batches' valid rows, the same
// token positions for every Linear (even_subsample_stride): visit(linear, kept rows [count, K], count)
// for each batch that keeps any.
void observe_subsampled_linear_inputs(SequenceModel& model, std::span<const TokenBatch> batches,
                                      const std::function<bool(const Linear&)>& include, int64_t max_rows,
                                      const std::function<void(const Linear&, const float*, int64_t)>& visit);

// The same, one layer at a time in forward order, for passes that change each layer before the next
// one is observed (GPTQ as its paper runs it): layer l's Linears see the inputs the model computes
// with layers [0, l) already changed by finish_layer. The batches' hidden states are carried from
// layer to layer through SequenceModel::run_layers, so each layer runs twice (observed, then again
// once changed) instead of a whole forward per layer. The last layer and the Linears outside the
// layers (layer -1: a pooler, classifier or untied LM head, finished last) are observed through
// trace(), so they see exactly the rows inference computes. finish_layer(l) is called for every layer
// and for -1, after that group's inputs were visited (none are when it has no included Linear).
// `on_layer` (may be null) is called after each finish_layer.
void observe_layers_in_order(SequenceModel& model, std::span<const TokenBatch> batches,
                             const std::function<bool(const Linear&)>& include,
                             const std::function<void(const Linear&, const float*, int64_t)>& visit,
                             const std::function<void(int layer)>& finish_layer);

}  // namespace squish
