#include "quant/observers.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "quant/histogram.h"

namespace squish {
namespace {

constexpr std::array kAllKinds = {ObserverKind::kMinMax, ObserverKind::kMovingAverage, ObserverKind::kPercentile,
                                  ObserverKind::kMse, ObserverKind::kEntropy};
constexpr int kEntropyLevels = 128;         // TensorRT's: the magnitudes of signed int8
constexpr double kEntropySmoothing = 1e-4;  // MXNet's eps, in counts
// The entropy search starts at one bin per level; past 16384 the O(bins²) searches take seconds.
constexpr int kMinBins = kEntropyLevels, kMaxBins = 16384;

std::string valid_names() {
  std::string names;
  for (ObserverKind kind : kAllKinds) names += (names.empty() ? "" : ", ") + std::string(observer_name(kind));
  return names;
}

void require_observed(bool observed, ObserverKind kind) {
  if (!observed)
    throw DataError(fmt::format("{} observer: expected at least one calibration value, found none", observer_name(kind)));
}

template <class T>
std::vector<std::byte> bytes_of(const std::vector<T>& values) {
  std::vector<std::byte> bytes(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

template <class T>
std::vector<T> values_of(std::span<const std::byte> bytes, ObserverKind kind) {
  if (bytes.size() % sizeof(T) != 0)
    throw FormatError(fmt::format("{} observer state: {} bytes, not whole records", observer_name(kind), bytes.size()));
  std::vector<T> values(bytes.size() / sizeof(T));
  if (!values.empty()) std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

// Batches' extremes, NaN for a batch with no values (which observe() ignores).
constexpr BatchExtremes kNoValues{std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::quiet_NaN()};

class MinMaxObserver final : public RangeObserver {
 public:
  void observe(const float* x, int64_t n) override {
    if (n == 0) return;
    const BatchExtremes batch = finite_extremes(x, n);
    range_ = observed_ ? ActivationRange{std::min(range_.lo, batch.min), std::max(range_.hi, batch.max)}
                       : ActivationRange{batch.min, batch.max};
    observed_ = true;
  }
  ActivationRange range(int) const override {
    require_observed(observed_, ObserverKind::kMinMax);
    return range_;
  }
  int64_t state_bytes() const override { return sizeof(*this); }
  std::vector<std::byte> state() const override {
    return bytes_of(std::vector<BatchExtremes>{observed_ ? BatchExtremes{range_.lo, range_.hi} : kNoValues});
  }
  void merge_ranks(std::span<const std::vector<std::byte>> states) override {
    *this = MinMaxObserver();
    for (const auto& bytes : states)
      for (const BatchExtremes& e : values_of<BatchExtremes>(bytes, ObserverKind::kMinMax)) {
        if (std::isnan(e.min)) continue;
        range_ = observed_ ? ActivationRange{std::min(range_.lo, e.min), std::max(range_.hi, e.max)}
                           : ActivationRange{e.min, e.max};
        observed_ = true;
      }
  }

 private:
  bool observed_ = false;
  ActivationRange range_{0, 0};
};

class MovingAverageObserver final : public RangeObserver {
 public:
  explicit MovingAverageObserver(double averaging_constant) : c_(static_cast<float>(averaging_constant)) {}
  void observe(const float* x, int64_t n) override {
    const BatchExtremes batch = n == 0 ? kNoValues : finite_extremes(x, n);
    batches_.push_back(batch);
    fold(batch);
  }
  ActivationRange range(int) const override {
    require_observed(observed_, ObserverKind::kMovingAverage);
    return range_;
  }
  int64_t state_bytes() const override {
    return static_cast<int64_t>(sizeof(*this) + batches_.size() * sizeof(BatchExtremes));
  }
  std::vector<std::byte> state() const override { return bytes_of(batches_); }
  void merge_ranks(std::span<const std::vector<std::byte>> states) override {
    std::vector<std::vector<BatchExtremes>> ranks;
    for (const auto& bytes : states) ranks.push_back(values_of<BatchExtremes>(bytes, ObserverKind::kMovingAverage));
    observed_ = false;
    range_ = {0, 0};
    batches_.clear();
    // Global batch u: the (u div size)-th of rank u mod size. Ranks hold their batches' extremes
    // in their own order, so the replay visits every batch once, in one process's order.
    const size_t size = ranks.size();
    for (size_t u = 0; u / size < ranks[u % size].size(); ++u) {
      batches_.push_back(ranks[u % size][u / size]);
      fold(batches_.back());
    }
  }

 private:
  void fold(const BatchExtremes& batch) {
    if (std::isnan(batch.min)) return;
    if (observed_) {
      range_.lo += c_ * (batch.min - range_.lo);
      range_.hi += c_ * (batch.max - range_.hi);
    } else {
      range_ = {batch.min, batch.max};
    }
    observed_ = true;
  }

  float c_;
  bool observed_ = false;
  ActivationRange range_{0, 0};
  std::vector<BatchExtremes> batches_;
};

// The value below which `fraction` of the histogram's mass lies, spreading each bin's count evenly
// over its width.
double value_at_fraction(const StreamingHistogram& h, double fraction) {
  const std::vector<int64_t>& counts = h.counts();
  const double target = fraction * static_cast<double>(h.total());
  double below = 0;
  for (size_t j = 0; j < counts.size(); ++j) {
    const auto count = static_cast<double>(counts[j]);
    if (count == 0) continue;
    if (below + count >= target) return h.edge(static_cast<int>(j)) + h.bin_width() * std::max(0.0, target - below) / count;
    below += count;
  }
  return h.edge(static_cast<int>(counts.size()));  // rounding left target just above the total
}

ActivationRange percentile_range(const StreamingHistogram& h, double percentile) {
  const auto clamp = [&](double v) { return static_cast<float>(std::clamp(v, double{h.min()}, double{h.max()})); };
  return {clamp(value_at_fraction(h, (100 - percentile) / 100)), clamp(value_at_fraction(h, percentile / 100))};
}

// Expected squared error, in units of width², of clipping at each candidate edge: for the edges
// from `from` one by one toward `to` (step ±1), Σ count · ((centre distance)² + 1/12) over the bins
// beyond the edge, and how many values those bins hold. Each step moves every clipped bin one width
// further away and adds the bin it passes at half a width, so the sums only grow (no cancellation).
struct ClipCosts {
  std::vector<double> cost, clipped;
};
ClipCosts clip_costs(const std::vector<int64_t>& counts, int from, int to) {
  const int step = to > from ? 1 : -1;
  ClipCosts out;
  double m0 = 0, m1 = 0, m2 = 0;  // Σ n, Σ n·d, Σ n·d² over the clipped bins, d = distance of the centre
  for (int edge = from;; edge += step) {
    out.cost.push_back(m2 + m0 / 12);
    out.clipped.push_back(m0);
    if (edge == to) break;
    const auto n = static_cast<double>(counts[static_cast<size_t>(step > 0 ? edge : edge - 1)]);
    m2 += 2 * m1 + m0 + 0.25 * n;
    m1 += m0 + 0.5 * n;
    m0 += n;
  }
  return out;
}

ActivationRange mse_range(const StreamingHistogram& h, int qmax) {
  const std::vector<int64_t>& counts = h.counts();
  const int zero = h.bins_per_side(), bins = 2 * zero;
  int first = 0, last = bins - 1;
  while (counts[static_cast<size_t>(first)] == 0) ++first;
  while (counts[static_cast<size_t>(last)] == 0) --last;
  // Candidate ends: every edge from the data's outermost bins to 0 (the range always contains 0).
  const int lo_first = std::min(first, zero), hi_last = std::max(last + 1, zero);
  const ClipCosts below = clip_costs(counts, lo_first, zero);  // index: edge - lo_first
  const ClipCosts above = clip_costs(counts, hi_last, zero);   // index: hi_last - edge
  const double total = static_cast<double>(h.total()), rounding = 1.0 / (12.0 * qmax * qmax);
  double best = std::numeric_limits<double>::infinity();
  int best_lo = zero, best_hi = zero;
  for (int lo = lo_first; lo <= zero; ++lo) {
    const double below_cost = below.cost[static_cast<size_t>(lo - lo_first)];
    const double inside_below = total - below.clipped[static_cast<size_t>(lo - lo_first)];
    for (int hi = zero; hi <= hi_last; ++hi) {
      const auto a = static_cast<size_t>(hi_last - hi);
      const double span = hi - lo;
      const double error = span * span * rounding * (inside_below - above.clipped[a]) + below_cost + above.cost[a];
      if (error < best) {
        best = error;
        best_lo = lo;
        best_hi = hi;
      }
    }
  }
  return {std::max(static_cast<float>(h.edge(best_lo)), h.min()), std::min(static_cast<float>(h.edge(best_hi)), h.max())};
}

// KL(P || Q) of TensorRT's calibration for the first i bins of the folded histogram, or infinity
// where smoothing cannot keep every probability positive (MXNet asserts there instead).
double entropy_divergence(const std::vector<double>& folded, const std::vector<double>& mass_before,
                          const std::vector<int>& nonzero_before, int i, double total, int levels) {
  const double last = folded[static_cast<size_t>(i - 1)] + (total - mass_before[static_cast<size_t>(i)]);
  const auto p_at = [&](int k) { return k == i - 1 ? last : folded[static_cast<size_t>(k)]; };
  // Nonzero bins of P per level: the folded ones, plus the last bin if only the mass beyond fills it.
  const int outliers_fill_last = folded[static_cast<size_t>(i - 1)] == 0 && last != 0;
  const int p_nonzero = nonzero_before[static_cast<size_t>(i)] + outliers_fill_last;
  const double p_eps = kEntropySmoothing * (i - p_nonzero) / p_nonzero;
  const int merged = i / levels;
  std::vector<double> level_value(static_cast<size_t>(levels), 0.0);
  int q_nonzero = 0;
  double q_mass = 0;
  for (int level = 0; level < levels; ++level) {
    const int start = level * merged, stop = level == levels - 1 ? i : start + merged;
    const double quantized = mass_before[static_cast<size_t>(stop)] - mass_before[static_cast<size_t>(start)];
    const int norm = nonzero_before[static_cast<size_t>(stop)] - nonzero_before[static_cast<size_t>(start)] +
                     (stop == i ? outliers_fill_last : 0);
    if (norm == 0 || quantized == 0) continue;
    level_value[static_cast<size_t>(level)] = quantized / norm;
    q_nonzero += norm;
    q_mass += quantized;
  }
  if (q_nonzero == 0) return std::numeric_limits<double>::infinity();
  const double q_eps = kEntropySmoothing * (i - q_nonzero) / q_nonzero;
  // Bins where P is 0 are smoothed to the same eps in P and Q, so their terms vanish; P and Q are
  // normalized by their totals, which smoothing does not change: KL = Σ p log(p / q) / ΣP + log(ΣQ / ΣP).
  double sum = 0;
  for (int level = 0; level < levels; ++level) {
    const double value = level_value[static_cast<size_t>(level)];
    const double q = value > 0 ? value - q_eps : kEntropySmoothing;
    if (q <= 0) return std::numeric_limits<double>::infinity();
    const double log_q = std::log(q);
    const int start = level * merged, stop = level == levels - 1 ? i : start + merged;
    for (int k = start; k < stop; ++k) {
      const double p = p_at(k);
      if (p == 0) continue;
      if (p <= p_eps) return std::numeric_limits<double>::infinity();
      sum += (p - p_eps) * (std::log(p - p_eps) - log_q);
    }
  }
  return sum / total + std::log(q_mass / total);
}

// TensorRT's 128 levels are one side of a signed int8 grid. A one-sided range (the smaller side
// under kOneSidedShare of the span, as after GELU) gets all of squish's u8 grid instead, qmax + 1
// levels, or KL would clip it as if it had half the codes it has.
constexpr double kOneSidedShare = 0.05;

int entropy_levels(const StreamingHistogram& h, int qmax) {
  const double lo = std::fabs(std::min(double{h.min()}, 0.0)), hi = std::max(double{h.max()}, 0.0);
  const bool one_sided = std::min(lo, hi) < kOneSidedShare * (lo + hi);
  return std::min(one_sided ? qmax + 1 : kEntropyLevels, h.bins_per_side());
}

ActivationRange entropy_range(const StreamingHistogram& h, int qmax) {
  const std::vector<int64_t>& counts = h.counts();
  const int side = h.bins_per_side();
  std::vector<double> folded(static_cast<size_t>(side)), mass_before(static_cast<size_t>(side) + 1, 0);
  std::vector<int> nonzero_before(static_cast<size_t>(side) + 1, 0);
  for (int k = 0; k < side; ++k) {
    const auto f = static_cast<double>(counts[static_cast<size_t>(side + k)] + counts[static_cast<size_t>(side - 1 - k)]);
    folded[static_cast<size_t>(k)] = f;
    mass_before[static_cast<size_t>(k) + 1] = mass_before[static_cast<size_t>(k)] + f;
    nonzero_before[static_cast<size_t>(k) + 1] = nonzero_before[static_cast<size_t>(k)] + (f != 0);
  }
  const double total = static_cast<double>(h.total());
  // Keeping every bin is the answer when no candidate can be scored.
  int best_bins = side;
  double best = std::numeric_limits<double>::infinity();
  const int levels = entropy_levels(h, qmax);
  for (int i = levels; i <= side; ++i) {
    const double divergence = entropy_divergence(folded, mass_before, nonzero_before, i, total, levels);
    if (divergence < best) {
      best = divergence;
      best_bins = i;
    }
  }
  const double threshold = best_bins * h.bin_width();
  return {static_cast<float>(std::max(double{h.min()}, -threshold)), static_cast<float>(std::min(double{h.max()}, threshold))};
}

class HistogramObserver final : public RangeObserver {
 public:
  explicit HistogramObserver(const ObserverOptions& options) : options_(options), histogram_(options.bins) {}
  void observe(const float* x, int64_t n) override { histogram_.add(x, n); }
  ActivationRange range(int qmax) const override {
    require_observed(histogram_.total() > 0, options_.kind);
    if (histogram_.half_range() == 0) return {0, 0};  // only zeros: no grid to search
    switch (options_.kind) {
      case ObserverKind::kPercentile: return percentile_range(histogram_, options_.percentile);
      case ObserverKind::kMse: return mse_range(histogram_, qmax);
      default: return entropy_range(histogram_, qmax);  // make_observer builds this class for the histogram kinds only
    }
  }
  int64_t state_bytes() const override {
    return static_cast<int64_t>(sizeof(*this) - sizeof(histogram_)) + histogram_.state_bytes();
  }
  std::vector<std::byte> state() const override { return histogram_.serialize(); }
  void merge_ranks(std::span<const std::vector<std::byte>> states) override {
    histogram_ = StreamingHistogram(options_.bins);
    for (const auto& bytes : states) histogram_.merge(StreamingHistogram::deserialize(bytes, options_.bins));
  }

 private:
  ObserverOptions options_;
  StreamingHistogram histogram_;
};

}  // namespace

std::string_view observer_name(ObserverKind kind) {
  switch (kind) {
    case ObserverKind::kMinMax: return "minmax";
    case ObserverKind::kMovingAverage: return "moving_average";
    case ObserverKind::kPercentile: return "percentile";
    case ObserverKind::kMse: return "mse";
    case ObserverKind::kEntropy: return "entropy";
  }
  return "unknown";
}

ObserverKind parse_observer(std::string_view name) {
  for (ObserverKind kind : kAllKinds)
    if (observer_name(kind) == name) return kind;
  throw UsageError(fmt::format("--observer {}: expected one of {}", name, valid_names()));
}

std::unique_ptr<RangeObserver> make_observer(const ObserverOptions& options) {
  if (!(options.percentile > 50 && options.percentile <= 100))
    throw UsageError(fmt::format("--percentile {}: expected a value in (50, 100]", options.percentile));
  if (!(options.averaging_constant > 0 && options.averaging_constant <= 1))
    throw UsageError(fmt::format("moving average constant {}: expected a value in (0, 1]", options.averaging_constant));
  if (options.bins < kMinBins || options.bins > kMaxBins)
    throw UsageError(fmt::format("histogram bins {}: expected {} to {} per side of zero", options.bins, kMinBins, kMaxBins));
  switch (options.kind) {
    case ObserverKind::kMinMax: return std::make_unique<MinMaxObserver>();
    case ObserverKind::kMovingAverage: return std::make_unique<MovingAverageObserver>(options.averaging_constant);
    default: return std::make_unique<HistogramObserver>(options);
  }
}

}  // namespace squish
