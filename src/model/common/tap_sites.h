// How a forward hands its activations to a Tap, written once for every architecture: an activation
// the forward owns (a replacing Tap writes into it), and a Linear's input, which a replacing Tap
// gets as a copy so the change reaches that Linear alone and not the residual stream sharing `x`.
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "model/common/linear.h"
#include "model/common/tap.h"
#include "model/common/token_batch.h"

namespace squish {

// Calls the Tap, if any, on `data` [rows, cols]: `row_tokens` rows per sequence of `b`.
void emit_tap(const Tap* tap, TapPoint point, float* data, int64_t rows, int64_t cols, int64_t row_tokens,
              const TokenBatch& b);

// The input `linear` reads: `x` itself, or for a replacing Tap the copy in `copy` it rewrote.
const float* tapped_input(const Tap* tap, AlignedVector<float>& copy, int layer, const Linear& linear, const float* x,
                          int64_t rows, int64_t row_tokens, const TokenBatch& b);

}  // namespace squish
