// The calibration observers against hand-computed cases, known distributions and the references in
// tests/fixtures/observers (tools/make_observer_goldens.py): a numpy re-implementation of TensorRT's
// KL calibration, onnxruntime's entropy range and PyTorch's MovingAverageMinMaxObserver.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "quant/histogram.h"
#include "quant/observers.h"
#include "test_paths.h"

namespace squish {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<RangeObserver> observer_of(ObserverKind kind) {
  ObserverOptions options;
  options.kind = kind;
  return make_observer(options);
}

void observe(RangeObserver& observer, const std::vector<float>& batch) {
  observer.observe(batch.data(), static_cast<int64_t>(batch.size()));
}

std::vector<float> normal_samples(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> out(static_cast<size_t>(n));
  for (float& v : out) v = d(rng);
  return out;
}

std::vector<float> laplace_samples(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::exponential_distribution<float> magnitude(1.0f);
  std::bernoulli_distribution negative(0.5);
  std::vector<float> out(static_cast<size_t>(n));
  for (float& v : out) v = negative(rng) ? -magnitude(rng) : magnitude(rng);
  return out;
}

constexpr std::array kAllKinds = {ObserverKind::kMinMax, ObserverKind::kMovingAverage, ObserverKind::kPercentile,
                                  ObserverKind::kMse, ObserverKind::kEntropy};

TEST(ObserverNames, ParseInvertsNameAndUnknownNamesListTheValidOnes) {
  for (ObserverKind kind : kAllKinds) EXPECT_EQ(parse_observer(observer_name(kind)), kind);
  EXPECT_EQ(observer_name(ObserverKind::kMovingAverage), "moving_average");
  try {
    parse_observer("kl");
    FAIL() << "kl parsed";
  } catch (const UsageError& e) {
    EXPECT_THAT(e.what(), HasSubstr("kl"));
    EXPECT_THAT(e.what(), HasSubstr("minmax, moving_average, percentile, mse, entropy"));
  }
}

TEST(ObserverOptions, OutOfRangeOptionsAreUsageErrors) {
  ObserverOptions options;
  options.kind = ObserverKind::kPercentile;
  options.percentile = 40;
  EXPECT_THROW(make_observer(options), UsageError);
  options.percentile = 50;  // the interval is open at 50: lo and hi would be the same median
  EXPECT_THROW(make_observer(options), UsageError);
  options.percentile = 100;
  EXPECT_NE(make_observer(options), nullptr);
  options.kind = ObserverKind::kMinMax;  // checked whatever the kind, so a bad flag is never ignored
  options.percentile = 100.5;
  EXPECT_THROW(make_observer(options), UsageError);
  options = {};
  options.averaging_constant = 0;
  EXPECT_THROW(make_observer(options), UsageError);
  options = {};
  options.kind = ObserverKind::kEntropy;
  options.bins = 64;  // fewer than the 128 levels the entropy search starts at
  EXPECT_THROW(make_observer(options), UsageError);
}

TEST(ObserverMinMax, IsTheGlobalMinAndMaxIgnoringEmptyBatches) {
  auto observer = observer_of(ObserverKind::kMinMax);
  EXPECT_THROW(observer->range(255), DataError);
  observe(*observer, {1.0f, -2.0f, 3.0f});
  observer->observe(nullptr, 0);
  observe(*observer, {0.5f, 4.0f});
  observe(*observer, {-1.0f});
  // min(-2, 0.5, -1) = -2, max(3, 4, -1) = 4
  const ActivationRange r = observer->range(255);
  EXPECT_EQ(r.lo, -2.0f);
  EXPECT_EQ(r.hi, 4.0f);
}

TEST(ObserverMovingAverage, FirstBatchSetsTheRangeLaterOnesMoveItByC) {
  ObserverOptions options;
  options.kind = ObserverKind::kMovingAverage;
  options.averaging_constant = 0.25;
  auto observer = make_observer(options);
  observe(*observer, {-1.0f, 2.0f});  // [-1, 2]
  observer->observe(nullptr, 0);      // ignored: not a "first batch" either
  observe(*observer, {-3.0f, 6.0f});  // lo = -1 + 0.25 (-3 + 1) = -1.5, hi = 2 + 0.25 (6 - 2) = 3
  observe(*observer, {1.0f, 2.0f});   // lo = -1.5 + 0.25 (1 + 1.5) = -0.875, hi = 3 + 0.25 (2 - 3) = 2.75
  const ActivationRange r = observer->range(255);
  EXPECT_EQ(r.lo, -0.875f);  // every step is exact in float
  EXPECT_EQ(r.hi, 2.75f);

  auto by_default = observer_of(ObserverKind::kMovingAverage);  // c = 0.01
  observe(*by_default, {0.0f, 10.0f});
  observe(*by_default, {-10.0f, 110.0f});  // lo = 0 + 0.01 (-10) = -0.1, hi = 10 + 0.01 (100) = 11
  EXPECT_FLOAT_EQ(by_default->range(255).lo, -0.1f);
  EXPECT_FLOAT_EQ(by_default->range(255).hi, 11.0f);
}

TEST(ObserverHistogram, ZerosWaitInBinBUntilTheFirstNonZeroBatchSetsTheRange) {
  StreamingHistogram h(4);
  const std::vector<float> zeros = {0.0f, 0.0f};
  h.add(zeros.data(), 2);
  EXPECT_EQ(h.half_range(), 0.0);
  // R = 1, w = 0.25. Bins are closed away from zero: 0.25 is the top of (0, 0.25] (bin 4), -0.5 the
  // bottom of [-0.5, -0.25) (bin 2), 1 = R the top of the outermost bin 7.
  const std::vector<float> batch = {1.0f, -0.5f, 0.25f, -0.25f};
  h.add(batch.data(), 4);
  EXPECT_EQ(h.half_range(), 1.0);
  EXPECT_EQ(h.counts(), (std::vector<int64_t>{0, 0, 1, 1, 3, 0, 0, 1}));
  EXPECT_EQ(h.total(), 6);
  EXPECT_EQ(h.min(), -0.5f);
  EXPECT_EQ(h.max(), 1.0f);
  EXPECT_DOUBLE_EQ(h.edge(0), -1.0);
  EXPECT_DOUBLE_EQ(h.edge(8), 1.0);
}

TEST(ObserverHistogram, DoublingMergesBinsPairwiseTowardZero) {
  StreamingHistogram h(4);
  const std::vector<float> first = {1.0f, -0.5f, 0.25f, 0.5f, 0.75f, -1.0f};
  h.add(first.data(), 6);
  // R = 1, w = 0.25: 1 -> 7, -0.5 -> 2, 0.25 -> 4, 0.5 -> 5, 0.75 -> 6, -1 -> 0
  EXPECT_EQ(h.counts(), (std::vector<int64_t>{1, 0, 1, 0, 1, 1, 1, 1}));
  const std::vector<float> wide = {3.5f};
  h.add(wide.data(), 1);  // R doubles twice, to 4, w = 1
  EXPECT_EQ(h.half_range(), 4.0);
  // Each value's bin on the new grid: 1, 0.25, 0.5, 0.75 -> (0, 1] = 4; -0.5, -1 -> [-1, 0) = 3; 3.5 -> 7.
  EXPECT_EQ(h.counts(), (std::vector<int64_t>{0, 0, 0, 2, 4, 0, 0, 1}));
  EXPECT_EQ(h.total(), 7);
  EXPECT_EQ(h.min(), -1.0f);
  EXPECT_EQ(h.max(), 3.5f);
}

TEST(ObserverHistogram, MergingEqualsBinningWithTheFinalRangeFromTheStart) {
  // Batches of growing scale force many doublings; afterwards every value must sit in the bin
  // bin_of() gives it under the final range, including values exactly on bin edges.
  StreamingHistogram h(2048);
  std::vector<float> all;
  for (int b = 0; b < 12; ++b) {
    std::vector<float> batch = normal_samples(500, 100 + b);
    for (float& v : batch) v *= std::ldexp(1.0f, b);
    batch.push_back(static_cast<float>(std::ldexp(1.0, b) * 0.75));  // on an edge of the first grid
    h.add(batch.data(), static_cast<int64_t>(batch.size()));
    all.insert(all.end(), batch.begin(), batch.end());
  }
  EXPECT_GT(h.half_range(), 2000.0);  // started near 3, so it doubled about ten times
  std::vector<int64_t> direct(4096, 0);
  for (float v : all) ++direct[static_cast<size_t>(h.bin_of(v))];
  EXPECT_EQ(h.counts(), direct);
  EXPECT_EQ(h.total(), static_cast<int64_t>(all.size()));
  EXPECT_EQ(h.min(), *std::min_element(all.begin(), all.end()));
  EXPECT_EQ(h.max(), *std::max_element(all.begin(), all.end()));
}

TEST(ObserverHistogram, NonFiniteValuesAreDataErrorsAndAddNothing) {
  StreamingHistogram h(128);
  const std::vector<float> good = {1.0f, 2.0f};
  h.add(good.data(), 2);
  for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
    const std::vector<float> batch = {0.5f, bad, 100.0f};
    EXPECT_THROW(h.add(batch.data(), 3), DataError);
  }
  EXPECT_EQ(h.total(), 2);
  EXPECT_EQ(h.half_range(), 2.0);  // the 100 of the rejected batches did not widen it
}

TEST(ObserverAll, NaNIsADataErrorAndNothingObservedIsOne) {
  for (ObserverKind kind : kAllKinds) {
    auto observer = observer_of(kind);
    EXPECT_THROW(observer->range(255), DataError) << observer_name(kind);
    try {
      observe(*observer, {1.0f, std::nanf("")});
      FAIL() << observer_name(kind) << " accepted NaN";
    } catch (const DataError& e) {
      EXPECT_THAT(e.what(), HasSubstr("non-finite activations")) << observer_name(kind);
    }
  }
}

// The moving average alone grows, by one batch's extremes (8 bytes) per batch, never per value: a
// distributed calibration replays them in the global batch order.
TEST(ObserverAll, StateBytesDoNotGrowWithValuesSeen) {
  for (ObserverKind kind : kAllKinds) {
    auto observer = observer_of(kind);
    observe(*observer, normal_samples(1000, 1));
    const int64_t after_one = observer->state_bytes();
    for (int b = 1; b < 100; ++b) {
      std::vector<float> batch = normal_samples(1000, 1 + b);
      for (float& v : batch) v *= static_cast<float>(b);  // widening ranges, so the histogram doubles
      observe(*observer, batch);
    }
    const int64_t per_batch = kind == ObserverKind::kMovingAverage ? 2 * sizeof(float) : 0;
    EXPECT_EQ(observer->state_bytes(), after_one + 99 * per_batch) << observer_name(kind);
    EXPECT_GT(after_one, 0);
    if (kind != ObserverKind::kMinMax && kind != ObserverKind::kMovingAverage) {
      EXPECT_GE(after_one, 2 * 2048 * 8) << observer_name(kind);  // the counts themselves
    }
  }
}

TEST(ObserverAll, OnlyZerosGiveTheEmptyRange) {
  for (ObserverKind kind : kAllKinds) {
    auto observer = observer_of(kind);
    observe(*observer, {0.0f, 0.0f, 0.0f});
    const ActivationRange r = observer->range(255);
    EXPECT_EQ(r.lo, 0.0f) << observer_name(kind);
    EXPECT_EQ(r.hi, 0.0f) << observer_name(kind);
  }
}

TEST(ObserverPercentile, UniformIntegersGiveTheirPercentilesWithinABinWidth) {
  ObserverOptions options;
  options.kind = ObserverKind::kPercentile;
  options.percentile = 99;
  auto observer = make_observer(options);
  for (int b = 0; b < 10; ++b) {  // 0..9999 in order, in batches of 1000
    std::vector<float> batch(1000);
    for (int i = 0; i < 1000; ++i) batch[static_cast<size_t>(i)] = static_cast<float>(1000 * b + i);
    observe(*observer, batch);
  }
  // R = 999 from the first batch, doubled four times to 15984: bins of 15984 / 2048 = 7.8.
  const double width = 15984.0 / 2048;
  // numpy.percentile(range(10000), [1, 99]) = 99.99, 9899.01
  const ActivationRange r = observer->range(255);
  EXPECT_NEAR(r.lo, 99.99, width);
  EXPECT_NEAR(r.hi, 9899.01, width);

  options.percentile = 100;  // the exact ends, not bin edges
  auto full = make_observer(options);
  observe(*full, {-3.3f, 0.1f, 7.7f});
  EXPECT_EQ(full->range(255).lo, -3.3f);
  EXPECT_EQ(full->range(255).hi, 7.7f);
}

TEST(ObserverPercentile, EachTailGivesUpItsOwnShare) {
  ObserverOptions options;
  options.kind = ObserverKind::kPercentile;
  options.percentile = 90;
  auto observer = make_observer(options);
  std::vector<float> batch;  // -1000..999 evenly: the 10th and 90th percentiles are near -800 and 800
  for (int i = -1000; i < 1000; ++i) batch.push_back(static_cast<float>(i) + 0.5f);
  observe(*observer, batch);
  const ActivationRange r = observer->range(255);
  const double width = 999.5 / 2048;
  EXPECT_NEAR(r.lo, -800.0, 2 * width);
  EXPECT_NEAR(r.hi, 800.0, 2 * width);
}

TEST(ObserverMse, UniformDataKeepsItsRangeToWithinAStep) {
  auto observer = observer_of(ObserverKind::kMse);
  std::vector<float> batch;  // -1..3 evenly
  for (int i = 0; i <= 100000; ++i) batch.push_back(-1.0f + 4.0f * static_cast<float>(i) / 100000);
  observe(*observer, batch);
  // Clipping uniform data saves rounding error only while the clip is under about half a step, so
  // the optimum is the full range less at most one step (4 / 255) at each end.
  for (int qmax : {255, 128}) {
    const ActivationRange r = observer->range(qmax);
    EXPECT_NEAR(r.lo, -1.0f, 4.0 / qmax) << qmax;
    EXPECT_NEAR(r.hi, 3.0f, 4.0 / qmax) << qmax;
    EXPECT_LE(r.hi, 3.0f);
    EXPECT_GE(r.lo, -1.0f);
  }
}

// Where the mse search should put the upper end for one outlier at `outlier` above n values that
// stay inside [lo, hi]: minimizing (outlier - hi)² + n (hi - lo)² / (12 qmax²) over hi.
double mse_optimal_hi(double lo, double outlier, double n_inside, int qmax) {
  return lo + (outlier - lo) / (1 + n_inside / (12.0 * qmax * qmax));
}

TEST(ObserverMse, PullsOneFarOutlierInByTheStepsItCostsAMillionValues) {
  auto observer = observer_of(ObserverKind::kMse);
  std::vector<float> values = normal_samples(1000000, 7);
  values[500000] = 100.0f;
  for (size_t start = 0; start < values.size(); start += 100000)
    observer->observe(values.data() + start, 100000);
  // R ≈ 4.3 from the first batch, doubled to ≈ 138 by the outlier: bins of ≈ 0.067. The search
  // lands on the bin edge nearest the continuous optimum, and the outlier's bin centre is within
  // half a bin of 100: two bin widths. At qmax 255 the million values weigh k = 1e6 / (12 · 255²)
  // = 1.28 against the outlier, so hi ends at lo + (100 - lo) / 2.28 ≈ 41; at qmax 128 steps are
  // twice as coarse, k = 5.1, hi ≈ 12.
  for (int qmax : {255, 128}) {
    const ActivationRange r = observer->range(qmax);
    // The wide step makes the Gaussian's rare tail values cheaper to clip than to keep: min -5.0, lo ≈ -3.5.
    EXPECT_LT(r.lo, -3.0f) << qmax;
    EXPECT_GT(r.lo, -5.0f) << qmax;
    EXPECT_NEAR(r.hi, mse_optimal_hi(r.lo, 100.0, 999999, qmax), 0.15) << qmax;
  }
  EXPECT_LT(observer->range(255).hi, 45.0f);
  EXPECT_LT(observer->range(128).hi, 15.0f);
}

TEST(ObserverMse, BarelyMovesALoneOutlierAmongAThousandValues) {
  auto observer = observer_of(ObserverKind::kMse);
  std::vector<float> values = normal_samples(1000, 8);
  values[10] = 100.0f;
  observe(*observer, values);
  // k = 999 / (12 · 255²) = 0.0013: hi ≈ 100 - 0.13. Bins of 100 / 2048 = 0.05, tolerance two.
  const ActivationRange r = observer->range(255);
  EXPECT_NEAR(r.hi, mse_optimal_hi(r.lo, 100.0, 999, 255), 0.1);
  EXPECT_GT(r.hi, 99.7f);
}

TEST(ObserverEntropy, ClipsAHeavyTailWellBelowItsMax) {
  auto observer = observer_of(ObserverKind::kEntropy);
  std::vector<float> values = laplace_samples(100000, 9);
  for (int i = 0; i < 10; ++i) values[static_cast<size_t>(1000 * i)] = (i % 2 ? -1.0f : 1.0f) * (50.0f + 5.0f * i);
  observe(*observer, values);
  const ActivationRange r = observer->range(255);
  // Laplace(0, 1): 99.9% of the mass is inside ±6.9; the outliers reach ±95.
  EXPECT_GT(r.hi, 3.0f);
  EXPECT_LT(r.hi, 95.0f / 4);
  EXPECT_EQ(r.lo, -r.hi);  // the threshold is symmetric and inside both ends
}

TEST(ObserverEntropy, KeepsNearlyTheFullRangeOfUniformData) {
  auto observer = observer_of(ObserverKind::kEntropy);
  std::mt19937_64 rng(10);
  std::uniform_real_distribution<float> d(-2.0f, 2.0f);
  std::vector<float> values(100000);
  for (float& v : values) v = d(rng);
  observe(*observer, values);
  const ActivationRange r = observer->range(255);
  EXPECT_GT(r.hi, 0.95f * 2.0f);
  EXPECT_LT(r.lo, -0.95f * 2.0f);
}

// A one-sided range gets the whole u8 grid: more levels, less clipping; a two-sided one keeps
// TensorRT's 128 levels whatever qmax is.
TEST(ObserverEntropy, OneSidedRangesAreScoredWithTheWholeU8Grid) {
  std::mt19937_64 rng(12);
  std::student_t_distribution<float> heavy(3.0f);  // a continuous heavy tail, like a post-GELU activation's
  std::vector<float> one_sided(100000);
  for (float& v : one_sided) v = std::fabs(heavy(rng));
  auto observer = observer_of(ObserverKind::kEntropy);
  observe(*observer, one_sided);
  const ActivationRange wide = observer->range(255), narrow = observer->range(127);  // 256 vs 128 levels
  EXPECT_GE(wide.lo, 0.0f);
  EXPECT_LT(wide.hi, *std::max_element(one_sided.begin(), one_sided.end()));  // the tail is clipped either way
  EXPECT_GT(wide.hi, narrow.hi);
  auto symmetric = observer_of(ObserverKind::kEntropy);
  observe(*symmetric, laplace_samples(100000, 13));
  EXPECT_EQ(symmetric->range(255).hi, symmetric->range(127).hi);
}

struct ObserverFixture {
  std::vector<float> samples;
  nlohmann::json goldens;
};

ObserverFixture read_observer_fixture() {
  const std::string dir = test::fixtures_dir() + "/observers";
  ObserverFixture f;
  std::ifstream goldens(dir + "/goldens.json");
  f.goldens = nlohmann::json::parse(goldens);
  const int64_t n = f.goldens["batches"].get<int64_t>() * f.goldens["batch_size"].get<int64_t>();
  f.samples.resize(static_cast<size_t>(n));
  std::ifstream samples(dir + "/samples.f32", std::ios::binary);
  samples.read(reinterpret_cast<char*>(f.samples.data()), static_cast<std::streamsize>(n * sizeof(float)));
  EXPECT_TRUE(samples) << dir;  // little-endian float32, as x86 reads it
  return f;
}

void observe_fixture_batches(RangeObserver& observer, const ObserverFixture& f) {
  const int64_t batch_size = f.goldens["batch_size"];
  for (int64_t start = 0; start < static_cast<int64_t>(f.samples.size()); start += batch_size)
    observer.observe(f.samples.data() + start, batch_size);
}

TEST(ObserverEntropy, MatchesTheTensorRtReferenceAndCutsWhereOnnxRuntimeDoes) {
  const ObserverFixture f = read_observer_fixture();
  auto observer = observer_of(ObserverKind::kEntropy);
  observe_fixture_batches(*observer, f);
  const ActivationRange r = observer->range(255);
  // The reference scores the same histogram with the same algorithm, so only floating-point
  // summation order separates the two: near-equal KL values may pick a neighbouring bin, no more.
  const double width = f.goldens["bin_width"];
  EXPECT_NEAR(r.lo, f.goldens["entropy"]["lo"].get<double>(), width);
  EXPECT_NEAR(r.hi, f.goldens["entropy"]["hi"].get<double>(), width);
  // ORT scores the signed histogram with 64 levels a side (see the script), so its optimum differs
  // by construction (9.7 against 11.7 here). What both must do is cut between the Laplace body,
  // 99.9% of which lies inside ±6.9, and the outliers, all beyond 30.
  for (double hi : {double{r.hi}, f.goldens["onnxruntime_entropy"]["hi"].get<double>()}) {
    EXPECT_GT(hi, 6.9);
    EXPECT_LT(hi, 30.0);
  }
}

TEST(ObserverMovingAverage, MatchesPyTorchOnTheFixtureBatches) {
  const ObserverFixture f = read_observer_fixture();
  auto observer = observer_of(ObserverKind::kMovingAverage);
  observe_fixture_batches(*observer, f);
  const ActivationRange r = observer->range(255);
  // The same float32 updates in the same order: equal up to PyTorch's order of rounding.
  EXPECT_FLOAT_EQ(r.lo, f.goldens["torch_moving_average"]["lo"].get<float>());
  EXPECT_FLOAT_EQ(r.hi, f.goldens["torch_moving_average"]["hi"].get<float>());
}

TEST(ObserverHistogram, TheRangeIsThePowerOfTwoCoveringEveryValueWhateverTheOrder) {
  StreamingHistogram first_small(64), first_large(64);
  const std::vector<float> small = {3.0f, -1.0f}, large = {-37.5f, 2.0f};
  first_small.add(small.data(), 2);
  EXPECT_EQ(first_small.half_range(), 4.0);  // 3 -> 4
  first_small.add(large.data(), 2);
  first_large.add(large.data(), 2);
  first_large.add(small.data(), 2);
  EXPECT_EQ(first_small.half_range(), 64.0);
  EXPECT_EQ(first_large.half_range(), 64.0);
  EXPECT_EQ(first_small.counts(), first_large.counts());
}

TEST(ObserverHistogram, MergedHistogramsAreTheHistogramOfEveryValue) {
  // Parts of very different scales, one of zeros only and one empty: the merge must count each
  // value where one histogram of all of them does.
  std::vector<std::vector<float>> parts = {normal_samples(300, 7), {0.0f, 0.0f}, {}, normal_samples(200, 8)};
  for (float& v : parts[3]) v *= 1000.0f;
  StreamingHistogram all(512), merged(512);
  for (const auto& part : parts) {
    all.add(part.data(), static_cast<int64_t>(part.size()));
    StreamingHistogram alone(512);
    alone.add(part.data(), static_cast<int64_t>(part.size()));
    merged.merge(StreamingHistogram::deserialize(alone.serialize(), 512));
  }
  EXPECT_EQ(merged.half_range(), all.half_range());
  EXPECT_EQ(merged.counts(), all.counts());
  EXPECT_EQ(merged.total(), all.total());
  EXPECT_EQ(merged.min(), all.min());
  EXPECT_EQ(merged.max(), all.max());
  EXPECT_THROW(StreamingHistogram::deserialize(all.serialize(), 256), FormatError);
}

// What a distributed calibration does: batches dealt round robin to `ranks` observers, their
// states merged. Every kind must give one process's range bit for bit (the moving average by
// replaying the batches in their global order).
TEST(ObserverAll, RanksMergedEqualOneObserverOfEveryBatch) {
  std::vector<std::vector<float>> batches;
  for (int b = 0; b < 7; ++b) {
    batches.push_back(normal_samples(400, 50 + b));
    for (float& v : batches.back()) v *= static_cast<float>(1 + (b * 5) % 7);  // ranges that shrink and grow
  }
  batches[4].clear();  // a batch with no values
  for (ObserverKind kind : kAllKinds)
    for (size_t ranks : {1u, 2u, 3u, 8u}) {
      auto one = observer_of(kind);
      for (const auto& b : batches) one->observe(b.data(), static_cast<int64_t>(b.size()));
      std::vector<std::vector<std::byte>> states;
      for (size_t r = 0; r < ranks; ++r) {
        auto rank = observer_of(kind);
        for (size_t u = r; u < batches.size(); u += ranks)
          rank->observe(batches[u].data(), static_cast<int64_t>(batches[u].size()));
        states.push_back(rank->state());
      }
      auto merged = observer_of(kind);
      merged->merge_ranks(states);
      EXPECT_EQ(merged->range(255).lo, one->range(255).lo) << observer_name(kind) << " over " << ranks << " ranks";
      EXPECT_EQ(merged->range(255).hi, one->range(255).hi) << observer_name(kind) << " over " << ranks << " ranks";
    }
}

}  // namespace
}  // namespace squish
