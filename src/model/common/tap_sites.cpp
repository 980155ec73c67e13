#include "model/common/tap_sites.h"

#include <algorithm>

namespace squish {

void emit_tap(const Tap* tap, TapPoint point, float* data, int64_t rows, int64_t cols, int64_t row_tokens,
              const TokenBatch& b) {
  if (!tap) return;
  const bool replace = tap->mode == Tap::Mode::kReplace;
  tap->fn(point, TapView{data, replace ? data : nullptr, rows, cols, b.batch, row_tokens, b.lengths.data()});
}

const float* tapped_input(const Tap* tap, AlignedVector<float>& copy, int layer, const Linear& linear, const float* x,
                          int64_t rows, int64_t row_tokens, const TokenBatch& b) {
  if (!tap) return x;
  const int64_t cols = linear.in_features();
  const TapPoint point{TapSite::kLinearInput, layer, &linear};
  if (tap->mode == Tap::Mode::kObserve) {
    tap->fn(point, TapView{x, nullptr, rows, cols, b.batch, row_tokens, b.lengths.data()});
    return x;
  }
  ensure_size(copy, rows * cols);
  std::copy_n(x, rows * cols, copy.data());
  tap->fn(point, TapView{copy.data(), copy.data(), rows, cols, b.batch, row_tokens, b.lengths.data()});
  return copy.data();
}

}  // namespace squish
