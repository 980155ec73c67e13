// Bit allocation against hand-made cases (k-means clusters, percentile bands and their ties), the
// budget solver against brute-force enumeration of every allocation on small random instances, and
// the errors a bad problem or target raises.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "quant/allocation.h"

namespace squish {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

// Units whose sensitivity at every width is `score` scaled down by 4 per step up (so the lowest width
// is the default score), and whose bytes are parameters · bits / 8.
AllocationProblem problem_with_scores(const std::vector<double>& scores, std::vector<int> bits = {2, 4, 8, 16}) {
  AllocationProblem problem;
  problem.bits = std::move(bits);
  for (size_t u = 0; u < scores.size(); ++u) {
    AllocationUnit unit{"unit." + std::to_string(u), 1024, {}, {}};
    double s = scores[u];
    for (int b : problem.bits) {
      unit.sensitivity.push_back(s);
      unit.bytes.push_back(unit.parameters * b / 8);
      s /= 4;
    }
    problem.units.push_back(std::move(unit));
  }
  return problem;
}

const KMeansDetails& kmeans_details(const Allocation& a) { return std::get<KMeansDetails>(a.details); }
// The centroids of a clustering of one coordinate per unit.
std::vector<double> centroid_scores(const Allocation& a) {
  std::vector<double> out;
  for (const std::vector<double>& c : kmeans_details(a).centroids) {
    EXPECT_EQ(c.size(), 1u);
    out.push_back(c.at(0));
  }
  return out;
}
const PercentileDetails& percentile_details(const Allocation& a) { return std::get<PercentileDetails>(a.details); }

TEST(AllocationSummary, TotalsAveragesAndMethodName) {
  AllocationProblem problem = problem_with_scores({1.0, 2.0});
  problem.units[1].parameters = 3072;
  problem.units[1].bytes = {768, 1536, 3072, 6144};
  problem.fixed_bytes = 100;
  const Allocation a = summarize_allocation(problem, {1, 2});
  EXPECT_THAT(a.bits, ElementsAre(4, 8));
  EXPECT_EQ(a.unit_bytes, 512 + 3072);
  EXPECT_EQ(a.total_bytes, 512 + 3072 + 100);
  EXPECT_DOUBLE_EQ(a.total_sensitivity, 0.25 + 2.0 / 16);
  EXPECT_DOUBLE_EQ(a.average_stored_bits, (512.0 + 3072.0) * 8 / 4096);
  EXPECT_DOUBLE_EQ(a.average_nominal_bits, (1024.0 * 4 + 3072.0 * 8) / 4096);
  EXPECT_EQ(allocation_method_name(a), "given");
  // An fp32 head beside the units counts as quantize and eval count it: 32 bits for each weight.
  problem.fixed_weights = 256;
  problem.fixed_weight_bytes = 1024;
  EXPECT_DOUBLE_EQ(summarize_allocation(problem, {1, 2}).average_stored_bits,
                   (512.0 + 3072.0 + 1024.0) * 8 / (4096 + 256));
  EXPECT_THROW(summarize_allocation(problem, {1}), ShapeError);
  EXPECT_THROW(summarize_allocation(problem, {1, 4}), ShapeError);
}

TEST(AllocationProblem, InvalidProblemsNameWhatIsWrong) {
  const auto message = [](const AllocationProblem& p) {
    try {
      validate_allocation_problem(p);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const AllocationProblem good = problem_with_scores({1.0, 2.0});
  EXPECT_NO_THROW(validate_allocation_problem(good));

  AllocationProblem p = good;
  p.bits = {4, 2, 8, 16};
  EXPECT_THROW(validate_allocation_problem(p), UsageError);
  EXPECT_THAT(message(p), HasSubstr("strictly increasing, found 2 bits after 4"));
  p.bits = {0, 4, 8, 16};
  EXPECT_THROW(validate_allocation_problem(p), UsageError);
  p.bits.clear();
  EXPECT_THROW(validate_allocation_problem(p), UsageError);

  p = good;
  p.units.clear();
  EXPECT_THROW(validate_allocation_problem(p), UsageError);

  p = good;
  p.units[1].sensitivity.pop_back();
  EXPECT_THROW(validate_allocation_problem(p), ShapeError);
  EXPECT_THAT(message(p), HasSubstr("'unit.1': 3 sensitivities, expected one per width (4)"));
  p = good;
  p.units[0].bytes.push_back(1);
  EXPECT_THROW(validate_allocation_problem(p), ShapeError);

  p = good;
  p.units[1].name = "unit.0";
  EXPECT_THROW(validate_allocation_problem(p), DataError);
  EXPECT_THAT(message(p), HasSubstr("'unit.0' appears twice"));
  p = good;
  p.units[0].parameters = 0;
  EXPECT_THROW(validate_allocation_problem(p), DataError);
  p = good;
  p.units[0].sensitivity[2] = -0.5;
  EXPECT_THROW(validate_allocation_problem(p), DataError);
  EXPECT_THAT(message(p), HasSubstr("'unit.0' at 8 bits: sensitivity -0.5"));
  p.units[0].sensitivity[2] = std::nan("");
  EXPECT_THROW(validate_allocation_problem(p), DataError);
  p = good;
  p.units[1].bytes[0] = -1;
  EXPECT_THROW(validate_allocation_problem(p), DataError);
  p = good;
  p.fixed_bytes = -1;
  EXPECT_THROW(validate_allocation_problem(p), DataError);
}

TEST(AllocationScore, DefaultIsTheLowestWidthAndAnUnknownWidthIsAUsageError) {
  const AllocationProblem problem = problem_with_scores({8.0, 16.0});
  EXPECT_EQ(score_bits_of(problem, {}), 2);
  EXPECT_THAT(unit_scores(problem, {}), ElementsAre(8.0, 16.0));
  EXPECT_THAT(unit_scores(problem, {.score_bits = 4}), ElementsAre(2.0, 4.0));
  try {
    unit_scores(problem, {.score_bits = 3});
    FAIL() << "3 bits accepted";
  } catch (const UsageError& e) {
    EXPECT_THAT(e.what(), HasSubstr("score width 3 bits, expected one of the candidate widths (2, 4, 8, 16)"));
  }
}

TEST(KMeansAllocation, WellSeparatedGroupsGetOneWidthEachForEverySeed) {
  // Four groups of three, each 0.2 wide and a whole unit from the next; the unit order interleaves them.
  // (On raw scores; groups a decade apart would not be k-means' optimum, see docs/allocation.md.)
  const std::vector<double> scores = {0.11, 2.2, 1.0, 3.1, 0.12, 2.0, 3.0, 1.1, 0.10, 2.1, 1.2, 3.2};
  const std::vector<int> group = {0, 2, 1, 3, 0, 2, 3, 1, 0, 2, 1, 3};
  std::vector<double> expected_centroids(4, 0.0);
  for (size_t u = 0; u < scores.size(); ++u) expected_centroids[group[u]] += scores[u] / 3;
  const AllocationProblem problem = problem_with_scores(scores);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const Allocation a = allocate_kmeans(problem, {.seed = seed});
    EXPECT_EQ(allocation_method_name(a), "kmeans");
    EXPECT_THAT(a.width_index, ElementsAreArray(group)) << "seed " << seed;
    const KMeansDetails& d = kmeans_details(a);
    EXPECT_THAT(d.cluster, ElementsAreArray(group));
    const std::vector<double> centroids = centroid_scores(a);
    ASSERT_EQ(centroids.size(), 4u);
    for (int c = 0; c < 4; ++c) EXPECT_NEAR(centroids[c], expected_centroids[c], 1e-12);
    EXPECT_TRUE(d.converged);
    EXPECT_EQ(d.score_bits, 2);
  }
}

TEST(KMeansAllocation, TwoGroupsConvergeToTheirMeans) {
  const AllocationProblem problem = problem_with_scores({0, 1, 2, 10, 11, 12}, {4, 8});
  const Allocation a = allocate_kmeans(problem);
  const KMeansDetails& d = kmeans_details(a);
  EXPECT_THAT(centroid_scores(a), ElementsAre(1.0, 11.0));
  EXPECT_DOUBLE_EQ(d.inertia, 4.0);
  EXPECT_THAT(a.bits, ElementsAre(4, 4, 4, 8, 8, 8));
}

TEST(KMeansAllocation, EqualScoresFormOneClusterAtTheWidestWidth) {
  const Allocation a = allocate_kmeans(problem_with_scores({0.5, 0.5, 0.5, 0.5, 0.5}));
  const KMeansDetails& d = kmeans_details(a);
  EXPECT_THAT(centroid_scores(a), ElementsAre(0.5));
  EXPECT_THAT(d.cluster, ElementsAre(0, 0, 0, 0, 0));
  EXPECT_THAT(a.bits, ElementsAre(16, 16, 16, 16, 16));
  EXPECT_DOUBLE_EQ(d.inertia, 0.0);
}

TEST(KMeansAllocation, FewerDistinctScoresThanWidthsUseTheWidestWidths) {
  // Two units, four widths: two clusters, taking 8 and 16 bits.
  Allocation a = allocate_kmeans(problem_with_scores({3.0, 0.2}));
  EXPECT_THAT(centroid_scores(a), ElementsAre(0.2, 3.0));
  EXPECT_THAT(a.bits, ElementsAre(16, 8));
  // Five units with two distinct scores.
  a = allocate_kmeans(problem_with_scores({1, 3, 1, 3, 3}));
  EXPECT_THAT(centroid_scores(a), ElementsAre(1.0, 3.0));
  EXPECT_THAT(a.bits, ElementsAre(8, 16, 8, 16, 16));
  // One unit: the widest width.
  a = allocate_kmeans(problem_with_scores({7.0}));
  EXPECT_THAT(a.bits, ElementsAre(16));
}

TEST(KMeansAllocation, DistinctScoresWhoseSquaredDistanceUnderflowStillGetTwoClusters) {
  const Allocation a = allocate_kmeans(problem_with_scores({0.0, 1e-200}, {4, 8}));
  EXPECT_THAT(centroid_scores(a), ElementsAre(0.0, 1e-200));
  EXPECT_THAT(a.bits, ElementsAre(4, 8));
}

TEST(KMeansAllocation, AScoreEquidistantFromTwoCentroidsJoinsTheMoreSensitive) {
  // From centres {0, 0.5}, Lloyd reaches centroids {0, 1}, where 0.5 is equidistant and stays above:
  // a fixed point worse than the optimum {0.25, 1.5}. Single restarts reach one or the other;
  // ten restarts keep the optimum.
  const AllocationProblem problem = problem_with_scores({0.0, 0.5, 1.5}, {4, 8});
  int tied = 0;
  for (uint64_t seed = 0; seed < 64; ++seed) {
    const Allocation a = allocate_kmeans(problem, {.seed = seed, .restarts = 1});
    const std::vector<double> centroids = centroid_scores(a);
    if (centroids == std::vector<double>{0.0, 1.0}) {
      EXPECT_THAT(a.bits, ElementsAre(4, 8, 8));
      ++tied;
    } else {
      EXPECT_THAT(centroids, ElementsAre(0.25, 1.5));
      EXPECT_THAT(a.bits, ElementsAre(4, 4, 8));
    }
  }
  EXPECT_GT(tied, 0);
  EXPECT_THAT(centroid_scores(allocate_kmeans(problem)), ElementsAre(0.25, 1.5));
}

std::vector<double> random_scores(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> d(0.0, 1.5);
  std::vector<double> scores(static_cast<size_t>(n));
  for (double& s : scores) s = d(rng);
  return scores;
}

TEST(KMeansAllocation, SameSeedSameResult) {
  const AllocationProblem problem = problem_with_scores(random_scores(49, 7));
  for (uint64_t seed : {0ull, 1ull, 12345ull}) {
    const Allocation a = allocate_kmeans(problem, {.seed = seed, .restarts = 3});
    const Allocation b = allocate_kmeans(problem, {.seed = seed, .restarts = 3});
    EXPECT_EQ(a.width_index, b.width_index);
    EXPECT_EQ(kmeans_details(a).centroids, kmeans_details(b).centroids);
    EXPECT_EQ(kmeans_details(a).iterations, kmeans_details(b).iterations);
    EXPECT_EQ(kmeans_details(a).seed, seed);
  }
}

TEST(KMeansAllocation, AnIterationCapStopsLloydAndSaysSo) {
  const AllocationProblem problem = problem_with_scores(random_scores(49, 11));
  int stopped = 0;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    const Allocation capped_run = allocate_kmeans(problem, {.seed = seed, .restarts = 1, .max_iterations = 1});
    const KMeansDetails& capped = kmeans_details(capped_run);
    EXPECT_EQ(capped.iterations, 1);
    const std::vector<double> centroids = centroid_scores(capped_run);
    EXPECT_TRUE(std::is_sorted(centroids.begin(), centroids.end()));
    for (int c = 0; c < static_cast<int>(capped.centroids.size()); ++c)
      EXPECT_NE(std::find(capped.cluster.begin(), capped.cluster.end(), c), capped.cluster.end()) << "empty cluster";
    stopped += capped.converged ? 0 : 1;
    const KMeansDetails free = kmeans_details(allocate_kmeans(problem, {.seed = seed, .restarts = 1}));
    EXPECT_TRUE(free.converged);
    EXPECT_GE(free.iterations, capped.converged ? 1 : 2);
  }
  EXPECT_GT(stopped, 0);
}

TEST(KMeansAllocation, MoreSensitiveUnitsNeverGetFewerBits) {
  for (uint64_t instance = 0; instance < 20; ++instance) {
    const std::vector<double> scores = random_scores(30, 100 + instance);
    const Allocation a = allocate_kmeans(problem_with_scores(scores), {.seed = instance});
    const std::vector<double> centroids = centroid_scores(a);
    ASSERT_EQ(centroids.size(), 4u);
    EXPECT_TRUE(std::is_sorted(centroids.begin(), centroids.end()));
    for (size_t u = 0; u < scores.size(); ++u)
      for (size_t v = 0; v < scores.size(); ++v)
        if (scores[u] < scores[v]) {
          EXPECT_LE(a.bits[u], a.bits[v]) << scores[u] << " vs " << scores[v];
        }
    const size_t most = std::max_element(scores.begin(), scores.end()) - scores.begin();
    const size_t least = std::min_element(scores.begin(), scores.end()) - scores.begin();
    EXPECT_EQ(a.bits[most], 16);
    EXPECT_EQ(a.bits[least], 2);
  }
}

TEST(KMeansAllocation, ScoreWidthIsSelectable) {
  // At 2 bits unit 0 is the worse; at 8 bits unit 1 is.
  AllocationProblem problem = problem_with_scores({5.0, 1.0}, {2, 8});
  problem.units[1].sensitivity[1] = 3.0;
  EXPECT_THAT(allocate_kmeans(problem).bits, ElementsAre(8, 2));
  const Allocation a = allocate_kmeans(problem, {.score = {.score_bits = 8}});
  EXPECT_THAT(a.bits, ElementsAre(2, 8));
  EXPECT_EQ(kmeans_details(a).score_bits, 8);
  EXPECT_THAT(kmeans_details(a).scores, ElementsAre(1.25, 3.0));
  EXPECT_THROW(allocate_kmeans(problem, {.restarts = 0}), UsageError);
  EXPECT_THROW(allocate_kmeans(problem, {.max_iterations = 0}), UsageError);
}

// Four groups a decade apart: on raw scores the top decade outweighs the rest (k-means splits it in two
// and lumps the two lowest decades), on their logs each decade is one cluster (both the optimum, by
// enumerating every split into four intervals).
TEST(KMeansAllocation, LogScoresClusterDecadesThatRawScoresLump) {
  const std::vector<double> scores = {1e-4, 1.2e-4, 1e-3, 1.2e-3, 1e-2, 1.2e-2, 0.1, 0.12, 0.105, 0.115};
  const AllocationProblem problem = problem_with_scores(scores);
  const Allocation raw = allocate_kmeans(problem);
  EXPECT_THAT(raw.bits, ElementsAre(2, 2, 2, 2, 4, 4, 8, 16, 8, 16));
  const Allocation logs = allocate_kmeans(problem, {.space = ClusterSpace::kLogScore});
  EXPECT_THAT(logs.bits, ElementsAre(2, 2, 4, 4, 8, 8, 16, 16, 16, 16));
  EXPECT_EQ(kmeans_details(logs).space, ClusterSpace::kLogScore);
  EXPECT_NEAR(centroid_scores(logs)[0], (-4 + std::log10(1.2e-4)) / 2, 1e-12);
  EXPECT_THAT(kmeans_details(logs).scores, ElementsAreArray(scores));  // the scores themselves, for reports
}

// Two units alike at 2 bits but a hundred times apart at 8: one cluster on the 2-bit score (both at the
// widest width), two on the profile of every width, the one that stays worse at 8 bits getting it.
TEST(KMeansAllocation, LogProfilesSeparateUnitsTheScoreWidthCannot) {
  AllocationProblem problem = problem_with_scores({0.1, 0.1}, {2, 8});
  problem.units[0].sensitivity[1] = 1e-4;
  problem.units[1].sensitivity[1] = 1e-2;
  EXPECT_THAT(allocate_kmeans(problem).bits, ElementsAre(8, 8));
  const Allocation a = allocate_kmeans(problem, {.space = ClusterSpace::kLogProfile});
  EXPECT_THAT(a.bits, ElementsAre(2, 8));
  const KMeansDetails& d = kmeans_details(a);
  ASSERT_EQ(d.centroids.size(), 2u);
  EXPECT_THAT(d.centroids[0], ElementsAre(DoubleNear(-1, 1e-12), DoubleNear(-4, 1e-12)));
  EXPECT_THAT(d.centroids[1], ElementsAre(DoubleNear(-1, 1e-12), DoubleNear(-2, 1e-12)));
  // A sensitivity of exactly 0 (an fp16 width) is floored before its log.
  problem.units[0].sensitivity[1] = 0;
  EXPECT_THAT(kmeans_details(allocate_kmeans(problem, {.space = ClusterSpace::kLogProfile})).centroids[0],
              ElementsAre(DoubleNear(-1, 1e-12), DoubleNear(std::log10(kLogFloor), 1e-12)));
  EXPECT_EQ(parse_cluster_space("log_profile"), ClusterSpace::kLogProfile);
  EXPECT_THROW(parse_cluster_space("profile"), UsageError);
}

TEST(PercentileAllocation, EqualQuantilesInterpolateLikeNumpy) {
  const Allocation a = allocate_percentile(problem_with_scores({8, 1, 7, 2, 6, 3, 5, 4}));
  const PercentileDetails& d = percentile_details(a);
  EXPECT_EQ(allocation_method_name(a), "percentile");
  EXPECT_THAT(d.percentiles, ElementsAre(25.0, 50.0, 75.0));
  // numpy.percentile([1..8], [25, 50, 75]) = 2.75, 4.5, 6.25.
  EXPECT_THAT(d.thresholds, ElementsAre(2.75, 4.5, 6.25));
  EXPECT_THAT(a.bits, ElementsAre(16, 2, 16, 2, 8, 4, 8, 4));
}

TEST(PercentileAllocation, ScoresAtAThresholdGoToTheBandAbove) {
  // The median of {1, 2, 2, 2, 3} is 2: every 2 joins the 3 above it.
  Allocation a = allocate_percentile(problem_with_scores({1, 2, 2, 2, 3}, {4, 8}));
  EXPECT_THAT(percentile_details(a).thresholds, ElementsAre(2.0));
  EXPECT_THAT(a.bits, ElementsAre(4, 8, 8, 8, 8));
  // Equal scores: every threshold equals them, every unit at the widest width.
  a = allocate_percentile(problem_with_scores({0.3, 0.3, 0.3}));
  EXPECT_THAT(percentile_details(a).thresholds, ElementsAre(0.3, 0.3, 0.3));
  EXPECT_THAT(a.bits, ElementsAre(16, 16, 16));
}

TEST(PercentileAllocation, GivenPercentilesAndTheirErrors) {
  const AllocationProblem problem = problem_with_scores({0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100});
  const Allocation a = allocate_percentile(problem, {.percentiles = {10, 50, 95}});
  EXPECT_THAT(percentile_details(a).thresholds, ElementsAre(10.0, 50.0, 95.0));
  EXPECT_THAT(a.bits, ElementsAre(2, 4, 4, 4, 4, 8, 8, 8, 8, 8, 16));
  EXPECT_THROW(allocate_percentile(problem, {.percentiles = {50, 90}}), UsageError);
  EXPECT_THROW(allocate_percentile(problem, {.percentiles = {10, 50, 50}}), UsageError);
  EXPECT_THROW(allocate_percentile(problem, {.percentiles = {0, 50, 90}}), UsageError);
  EXPECT_THROW(allocate_percentile(problem, {.percentiles = {10, 50, 100}}), UsageError);
}

struct BruteForceOptimum {
  double sensitivity = 0;
  int64_t bytes = 0;
};

// Every allocation, sensitivity summed in unit order as the solver does, so the optimum is compared
// exactly; among the least sensitive, the fewest bytes.
BruteForceOptimum brute_force(const AllocationProblem& problem, int64_t budget) {
  const size_t n = problem.units.size(), k = problem.bits.size();
  std::vector<size_t> choice(n, 0);
  BruteForceOptimum best{INFINITY, 0};
  while (true) {
    double sensitivity = 0;
    int64_t bytes = problem.fixed_bytes;
    for (size_t u = 0; u < n; ++u) {
      sensitivity += problem.units[u].sensitivity[choice[u]];
      bytes += problem.units[u].bytes[choice[u]];
    }
    if (bytes <= budget &&
        (sensitivity < best.sensitivity || (sensitivity == best.sensitivity && bytes < best.bytes)))
      best = {sensitivity, bytes};
    size_t u = 0;
    while (u < n && ++choice[u] == k) choice[u++] = 0;
    if (u == n) return best;
  }
}

// n units × k widths, bytes random (not always growing with the width), sensitivities on a coarse
// grid so that ties between allocations are common.
AllocationProblem random_problem(std::mt19937_64& rng, int n, int k) {
  AllocationProblem problem;
  for (int w = 0; w < k; ++w) problem.bits.push_back(2 << w);
  problem.fixed_bytes = std::uniform_int_distribution<int64_t>(0, 20)(rng);
  std::uniform_int_distribution<int64_t> bytes(0, 40);
  std::uniform_int_distribution<int> grid(0, 12);
  for (int u = 0; u < n; ++u) {
    AllocationUnit unit{std::to_string(u), 64, {}, {}};
    for (int w = 0; w < k; ++w) {
      unit.bytes.push_back(bytes(rng));
      unit.sensitivity.push_back(grid(rng) * 0.1);
    }
    problem.units.push_back(std::move(unit));
  }
  return problem;
}

TEST(BudgetAllocation, MatchesBruteForceOnRandomInstances) {
  std::mt19937_64 rng(2026);
  for (int instance = 0; instance < 200; ++instance) {
    const int n = 1 + instance % 7, k = 2 + instance % 3;
    const AllocationProblem problem = random_problem(rng, n, k);
    int64_t smallest = problem.fixed_bytes, largest = problem.fixed_bytes;
    for (const AllocationUnit& unit : problem.units) {
      smallest += *std::min_element(unit.bytes.begin(), unit.bytes.end());
      largest += *std::max_element(unit.bytes.begin(), unit.bytes.end());
    }
    const int64_t budget = std::uniform_int_distribution<int64_t>(smallest, largest)(rng);
    const BruteForceOptimum expected = brute_force(problem, budget);
    const Allocation a = allocate_budget(problem, budget);
    SCOPED_TRACE("instance " + std::to_string(instance) + ": " + std::to_string(n) + " units, " +
                 std::to_string(k) + " widths, budget " + std::to_string(budget));
    EXPECT_EQ(a.total_sensitivity, expected.sensitivity);
    EXPECT_EQ(a.total_bytes, expected.bytes);
    EXPECT_LE(a.total_bytes, budget);
    const auto& d = std::get<BudgetDetails>(a.details);
    EXPECT_EQ(d.budget_bytes, budget);
    EXPECT_EQ(d.minimum_bytes, smallest);
    EXPECT_GE(d.largest_pareto_front, 1);
  }
}

TEST(BudgetAllocation, BudgetAtTheExtremes) {
  AllocationProblem problem = problem_with_scores({1.0, 2.0, 3.0});
  problem.fixed_bytes = 1000;
  const Allocation smallest = allocate_budget(problem, 1000 + 3 * 256);
  EXPECT_THAT(smallest.bits, ElementsAre(2, 2, 2));
  const Allocation ample = allocate_budget(problem, 1 << 30);
  EXPECT_THAT(ample.bits, ElementsAre(16, 16, 16));
  EXPECT_EQ(allocation_method_name(ample), "budget");
  try {
    allocate_budget(problem, 1000 + 3 * 256 - 1);
    FAIL() << "an impossible budget was accepted";
  } catch (const UsageError& e) {
    EXPECT_THAT(e.what(), HasSubstr("a budget of 1767 bytes, expected at least the smallest allocation, 1768 bytes"));
    EXPECT_THAT(e.what(), HasSubstr("1000 fixed bytes"));
  }
}

// bert-base at Linear granularity: 12 layers × (QKV, attention output, FFN in, FFN out) + the word
// embeddings, with group-of-128 fp16 scales at 2 and 4 bits, per-row fp32 scales at 8 bits, fp16 at 16.
AllocationProblem bert_base_problem(uint64_t seed) {
  AllocationProblem problem;
  problem.bits = {2, 4, 8, 16};
  problem.fixed_bytes = 1'000'000;
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> damage(0.0, 1.0);
  const auto add = [&](const std::string& name, int64_t rows, int64_t columns) {
    AllocationUnit unit{name, rows * columns, {}, {}};
    for (int b : problem.bits) {
      const int64_t overhead = b <= 4 ? unit.parameters / 128 * 2 : b == 8 ? rows * 4 : 0;
      unit.bytes.push_back(unit.parameters * b / 8 + overhead);
    }
    const double base = damage(rng);
    for (double scale : {1.0, 0.08, 0.004, 0.0001}) unit.sensitivity.push_back(base * scale * damage(rng));
    problem.units.push_back(std::move(unit));
  };
  add("embeddings", 30522, 768);
  for (int layer = 0; layer < 12; ++layer) {
    const std::string prefix = "encoder.layer." + std::to_string(layer);
    add(prefix + ".attention.self.qkv", 2304, 768);
    add(prefix + ".attention.output.dense", 768, 768);
    add(prefix + ".intermediate.dense", 3072, 768);
    add(prefix + ".output.dense", 768, 3072);
  }
  return problem;
}

TEST(BudgetAllocation, BertBaseAtLinearGranularityFinishesAndNoSingleChangeImprovesIt) {
  const AllocationProblem problem = bert_base_problem(5);
  ASSERT_EQ(problem.units.size(), 49u);
  const int64_t budget = budget_from_average_bits(problem, 4.5);
  const auto start = std::chrono::steady_clock::now();
  const Allocation a = allocate_budget(problem, budget);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 10.0) << "a sanity bound on a shared machine, not a benchmark";
  EXPECT_LE(a.total_bytes, budget);
  EXPECT_LE(a.average_stored_bits, 4.5);
  // Necessary for optimality: no unit moves to another width and stays within budget for less.
  for (size_t u = 0; u < problem.units.size(); ++u) {
    const AllocationUnit& unit = problem.units[u];
    const int w = a.width_index[u];
    for (int other = 0; other < 4; ++other) {
      if (a.total_bytes - unit.bytes[w] + unit.bytes[other] > budget) continue;
      EXPECT_GE(unit.sensitivity[other], unit.sensitivity[w]) << unit.name << " at " << problem.bits[other];
    }
  }
  // Never worse than any uniform width that fits.
  for (int w = 0; w < 4; ++w) {
    const Allocation uniform = summarize_allocation(problem, std::vector<int>(problem.units.size(), w));
    if (uniform.total_bytes <= budget) {
      EXPECT_LE(a.total_sensitivity, uniform.total_sensitivity) << problem.bits[w] << " bits everywhere";
    }
  }
}

TEST(BudgetTargets, SizeInDecimalMegabytes) {
  EXPECT_EQ(budget_from_size_mb(12.5), 12'500'000);
  EXPECT_EQ(budget_from_size_mb(0.0000015), 1);
  EXPECT_THROW(budget_from_size_mb(0), UsageError);
  EXPECT_THROW(budget_from_size_mb(-3), UsageError);
  EXPECT_THROW(budget_from_size_mb(INFINITY), UsageError);
}

TEST(BudgetTargets, AverageBitsCountUnitParametersAndAddFixedBytes) {
  AllocationProblem problem = problem_with_scores({1.0, 2.0});
  problem.units[1].parameters = 3000;
  problem.fixed_bytes = 100;
  EXPECT_EQ(budget_from_average_bits(problem, 4.0), (1024 + 3000) * 4 / 8 + 100);
  EXPECT_EQ(budget_from_average_bits(problem, 3.3), static_cast<int64_t>(std::floor(3.3 * 4024 / 8)) + 100);
  EXPECT_THROW(budget_from_average_bits(problem, 0), UsageError);
  EXPECT_THROW(budget_from_average_bits(problem, std::nan("")), UsageError);
  // The head's weights are in the average too: the units get what the target leaves after them.
  problem.fixed_weights = 1000;
  problem.fixed_weight_bytes = 4000;
  EXPECT_EQ(budget_from_average_bits(problem, 16.0), (1024 + 3000 + 1000) * 16 / 8 - 4000 + 100);
}

}  // namespace
}  // namespace squish
