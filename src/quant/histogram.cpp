#include "quant/histogram.h"

#include <fmt/format.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace squish {
namespace {

double power_of_two_at_least(double x) {
  if (x == 0) return 0;
  int exponent = 0;
  const double mantissa = std::frexp(x, &exponent);  // x = mantissa 2^exponent, mantissa in [0.5, 1)
  return mantissa == 0.5 ? x : std::ldexp(1.0, exponent);
}

// serialize()'s layout: this header, then the 2B counts.
struct SerializedHeader {
  double half_range;
  int64_t total, bins_per_side;
  float min, max;
};

}  // namespace

BatchExtremes finite_extremes(const float* x, int64_t n) {
  float lo = x[0], hi = x[0];
  bool all_finite = true;
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
    all_finite &= std::fabs(x[i]) <= FLT_MAX;  // false for NaN too
  }
  if (!all_finite) {
    const int64_t at = std::find_if(x, x + n, [](float v) { return !std::isfinite(v); }) - x;
    throw DataError(fmt::format("calibration batch: expected finite activations, found {} at value {} of {}; a model "
                                "producing non-finite activations cannot be calibrated",
                                x[at], at, n));
  }
  return {lo, hi};
}

StreamingHistogram::StreamingHistogram(int bins_per_side)
    : bins_per_side_(bins_per_side), counts_(static_cast<size_t>(2 * bins_per_side), 0) {}

int StreamingHistogram::bin_of(float x) const {
  if (x == 0) return bins_per_side_;
  // |x| / R before the multiplication by B: x = ±R then scales to exactly B (the outermost bin,
  // never one past it), and doubling R halves the scaled value exactly, which makes merging exact.
  const double scaled = std::fabs(static_cast<double>(x)) / half_range_ * bins_per_side_;
  const int from_zero = static_cast<int>(std::ceil(scaled)) - 1;
  return x > 0 ? bins_per_side_ + from_zero : bins_per_side_ - 1 - from_zero;
}

void StreamingHistogram::double_range() {
  half_range_ *= 2;
  // Bin k from zero on each side of the new grid holds the old bins 2k and 2k + 1 of that side.
  // Walking outward from zero reads every old bin before its slot is overwritten.
  const int b = bins_per_side_;
  auto old_bin = [&](int side_sign, int from_zero) -> int64_t {
    if (from_zero >= b) return 0;
    return counts_[static_cast<size_t>(side_sign > 0 ? b + from_zero : b - 1 - from_zero)];
  };
  for (int k = 0; k < b; ++k) {
    const int64_t positive = old_bin(+1, 2 * k) + old_bin(+1, 2 * k + 1);
    const int64_t negative = old_bin(-1, 2 * k) + old_bin(-1, 2 * k + 1);
    counts_[static_cast<size_t>(b + k)] = positive;
    counts_[static_cast<size_t>(b - 1 - k)] = negative;
  }
}

void StreamingHistogram::add(const float* x, int64_t n) {
  if (n <= 0) return;
  const BatchExtremes batch = finite_extremes(x, n);
  const double max_abs = std::max(std::fabs(static_cast<double>(batch.min)), std::fabs(static_cast<double>(batch.max)));
  if (half_range_ == 0) half_range_ = power_of_two_at_least(max_abs);  // stays 0 for a batch of zeros
  while (max_abs > half_range_) double_range();
  for (int64_t i = 0; i < n; ++i) ++counts_[static_cast<size_t>(bin_of(x[i]))];
  min_ = total_ == 0 ? batch.min : std::min(min_, batch.min);
  max_ = total_ == 0 ? batch.max : std::max(max_, batch.max);
  total_ += n;
}

int64_t StreamingHistogram::state_bytes() const {
  return static_cast<int64_t>(sizeof(*this) + counts_.size() * sizeof(int64_t));
}

void StreamingHistogram::merge(const StreamingHistogram& other) {
  if (other.bins_per_side_ != bins_per_side_)
    throw Error(ExitCode::kInternal,
                fmt::format("histogram merge: {} bins per side with {}", bins_per_side_, other.bins_per_side_));
  if (other.total_ == 0) return;
  if (total_ == 0) {
    *this = other;
    return;
  }
  // Both ranges are powers of two (or 0: zeros only, all in bin B under any range), so the narrower
  // doubles exactly onto the wider.
  StreamingHistogram widened = other;
  if (half_range_ == 0) half_range_ = widened.half_range_;
  if (widened.half_range_ == 0) widened.half_range_ = half_range_;
  while (half_range_ < widened.half_range_) double_range();
  while (widened.half_range_ < half_range_) widened.double_range();
  for (size_t j = 0; j < counts_.size(); ++j) counts_[j] += widened.counts_[j];
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  total_ += other.total_;
}

std::vector<std::byte> StreamingHistogram::serialize() const {
  const SerializedHeader header{half_range_, total_, bins_per_side_, min_, max_};
  std::vector<std::byte> bytes(sizeof header + counts_.size() * sizeof(int64_t));
  std::memcpy(bytes.data(), &header, sizeof header);
  std::memcpy(bytes.data() + sizeof header, counts_.data(), counts_.size() * sizeof(int64_t));
  return bytes;
}

StreamingHistogram StreamingHistogram::deserialize(std::span<const std::byte> bytes, int bins_per_side) {
  StreamingHistogram h(bins_per_side);
  SerializedHeader header{};
  if (bytes.size() != sizeof header + h.counts_.size() * sizeof(int64_t))
    throw FormatError(fmt::format("histogram state: {} bytes, expected {} for {} bins per side", bytes.size(),
                                  sizeof header + h.counts_.size() * sizeof(int64_t), bins_per_side));
  std::memcpy(&header, bytes.data(), sizeof header);
  if (header.bins_per_side != bins_per_side)
    throw FormatError(
        fmt::format("histogram state of {} bins per side, expected {}", header.bins_per_side, bins_per_side));
  h.half_range_ = header.half_range;
  h.total_ = header.total;
  h.min_ = header.min;
  h.max_ = header.max;
  std::memcpy(h.counts_.data(), bytes.data() + sizeof header, h.counts_.size() * sizeof(int64_t));
  return h;
}

}  // namespace squish
