// The streaming histogram behind the percentile, mse and entropy observers: one activation's values
// over every calibration batch in fixed memory, whatever their scale. Calibration cannot know an
// activation's range before it has seen all batches, so the histogram starts at the first batch's
// scale and, when a later value falls outside, doubles its range and merges bins pairwise, which is
// exact: the merged histogram is the one the wider range would have built from the start. The range
// is a power of two, so it ends as the smallest one covering every value, whatever the batches'
// order or how they were shared among the ranks of a distributed run: histograms of the ranks'
// batches nest and merge() into one process's histogram, count for count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace squish {

// The smallest and largest of n > 0 values; DataError if any is NaN or infinite, because a model
// that produces them cannot be calibrated and a range computed around them would be garbage.
struct BatchExtremes {
  float min, max;
};
BatchExtremes finite_extremes(const float* x, int64_t n);

// A symmetric grid over [-R, R], bins_per_side bins of width w = R / bins_per_side on each side of
// zero, in signed order: bin j spans [(j - B) w, (j - B + 1) w] for B = bins_per_side. A positive x
// goes to the bin whose upper edge is the first at or above it, a negative one mirrored, zero to
// bin B. Bins are closed on the side away from zero so that x = ±R lands in the outermost bin, and
// so that doubling R maps a value's bin k on its side to exactly k / 2: merging loses nothing.
// R starts at the smallest power of two at or above the first non-zero batch's max|x| (zeros before
// it need no range: they go to bin B).
class StreamingHistogram {
 public:
  explicit StreamingHistogram(int bins_per_side);

  // Adds n values (DataError if any is not finite, with nothing added).
  void add(const float* x, int64_t n);

  int bins_per_side() const { return bins_per_side_; }
  double half_range() const { return half_range_; }  // R; 0 while only zeros were seen
  double bin_width() const { return half_range_ / bins_per_side_; }
  // The lower edge of signed bin j, which is also the upper edge of bin j - 1 (j in [0, 2B]).
  double edge(int j) const { return (j - bins_per_side_) * bin_width(); }
  const std::vector<int64_t>& counts() const { return counts_; }  // 2B bins in signed order
  // The bin x goes to under the current range (|x| <= R, or x == 0).
  int bin_of(float x) const;

  int64_t total() const { return total_; }
  float min() const { return min_; }  // exact, over every value added; meaningless while total() == 0
  float max() const { return max_; }

  int64_t state_bytes() const;

  // Adds the values `other` saw (same bins_per_side, else an internal error): the histogram of both
  // value sets, exactly as if one histogram had seen them all.
  void merge(const StreamingHistogram& other);
  // The whole state as bytes, and back (FormatError for bytes another bin count wrote).
  std::vector<std::byte> serialize() const;
  static StreamingHistogram deserialize(std::span<const std::byte> bytes, int bins_per_side);

 private:
  void double_range();

  int bins_per_side_;
  double half_range_ = 0;
  std::vector<int64_t> counts_;
  int64_t total_ = 0;
  float min_ = 0, max_ = 0;
};

}  // namespace squish
