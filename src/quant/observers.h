// Calibration observers for static W8A8: each watches one activation over the calibration batches
// and then names the range its u8 quantization should cover (int8_scheme.h: u8_params widens the
// range to contain 0). Pure math over the values they are given, no model code. They differ in
// what they give up for resolution:
//  - minmax: the global min and max. Nothing is ever clipped, so one outlier stretches the step
//    for every other value.
//  - moving_average: PyTorch's MovingAverageMinMaxObserver. The first batch sets min and max, each
//    later one moves them by c * (batch value - current), in float32 like PyTorch, so a rare
//    extreme batch pulls the range only by c of its excess; the result depends on batch order
//    (a distributed calibration replays the ranks' batches in their global order).
//  - percentile p: the (100 - p)-th and p-th percentiles of the signed values, each read off the
//    histogram with linear interpolation inside its bin and clamped to the exact min and max. Each
//    tail gives up 100 - p percent (ORT's asymmetric percentile splits 100 - p between the tails).
//  - mse: the range with the least expected squared error of u8 quantization with qmax steps,
//    searched over every pair of bin edges around 0 (O(bins²) with O(1) per pair, a few ms for
//    2048 bins). Values inside cost step² / 12 each (rounding, uniform within a step); each
//    clipped bin costs its count times (centre - clip)² + width² / 12, the exact mean squared
//    distance of values spread uniformly over the bin. The zero point's rounding is ignored.
//    Squared error weighs a far outlier heavily: a lone one at distance D from the other end pulls
//    the range to D / (1 + N / (12 qmax²)) for N values inside, so it is kept almost whole among a
//    thousand values and halved among 780k at qmax 255. Percentile and entropy, which count values
//    rather than weigh distances, drop it outright.
//  - entropy: TensorRT's KL calibration (8-bit inference with TensorRT, GTC 2017, with MXNet's
//    smoothing) on the |x| histogram, folded from the signed one: every candidate count of bins
//    i = 128 .. bins is scored by KL(P || Q), P = the first i bins with all the mass beyond added
//    to the last, Q = those i bins (without that mass) merged into 128 levels and spread back
//    evenly over P's non-empty bins; zeros of both are smoothed (1e-4 counts, taken from the
//    non-zero ones). The threshold is t = i * width, the upper edge of the last bin kept, so
//    every value P counts as inside is inside; range = [max(min, -t), min(max, t)]. 128 levels
//    is TensorRT's (one side of signed int8), about what a u8 range split at 0 gives each side at
//    qmax 255. A one-sided range (its smaller side under 5% of the span, as after GELU) puts the
//    whole u8 grid on one side, so it is scored with qmax + 1 levels instead; with 128 it would be
//    clipped as if it had half its codes (measured: MRPC F1 0.8534 -> 0.8608, SST-2 0.8784 -> 0.8807).
// The histogram observers share one StreamingHistogram (histogram.h) of `bins` bins per side and
// reject NaN and infinities with a DataError; so do the others.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace squish {

enum class ObserverKind { kMinMax, kMovingAverage, kPercentile, kMse, kEntropy };

// "minmax", "moving_average", "percentile", "mse", "entropy".
std::string_view observer_name(ObserverKind kind);
// The kind named so; UsageError listing the valid names otherwise.
ObserverKind parse_observer(std::string_view name);

struct ObserverOptions {
  ObserverKind kind = ObserverKind::kMinMax;
  double percentile = 99.99;         // --percentile, in (50, 100]
  double averaging_constant = 0.01;  // moving average, in (0, 1]; PyTorch MovingAverageMinMaxObserver's default
  int bins = 2048;                   // histogram bins PER SIDE of zero, in [128, 16384] (entropy needs 128)
};

struct ActivationRange {
  float lo, hi;  // lo <= 0 <= hi is not required here: u8_params widens
};

class RangeObserver {
 public:
  virtual ~RangeObserver() = default;
  // One calibration batch of one activation: n values (the caller already dropped padding rows).
  // Called once per batch, in batch order; an empty batch (n == 0) is ignored. DataError, with
  // nothing recorded, if a value is NaN or infinite.
  virtual void observe(const float* x, int64_t n) = 0;
  // The range to quantize this activation to. DataError if nothing was observed.
  virtual ActivationRange range(int qmax) const = 0;
  // Bytes of state: does not grow with the number of values seen (bounded by bins; the moving
  // average keeps its batches' extremes, 8 bytes a batch, for merge_ranks()).
  virtual int64_t state_bytes() const = 0;

  // For a calibration shared by the ranks of a distributed run: what this observer learned, as
  // bytes, and the observer that saw every rank's batches made from them, one process's observer
  // bit for bit. `states` are each rank's state() in rank order, of observers made with the same
  // options; global batch u was the (u div size)-th batch of rank u mod size (core/communicator.h).
  // FormatError for states of another kind or size.
  virtual std::vector<std::byte> state() const = 0;
  virtual void merge_ranks(std::span<const std::vector<std::byte>> states) = 0;
};

// UsageError for options out of their ranges, checked whatever the kind, so that a bad flag is
// never silently ignored.
std::unique_ptr<RangeObserver> make_observer(const ObserverOptions& options);

}  // namespace squish
