#include "quant/allocation.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "core/error.h"

namespace squish {
namespace {

std::string unit_where(const AllocationUnit& unit) { return "allocation unit '" + unit.name + "'"; }

// A uniform double in [0, 1) from the top 53 bits, so a seed gives the same draws with every standard
// library (std::uniform_real_distribution's algorithm is left to the implementation).
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// A unit's place in the clustered space: one coordinate (a score) or one per width (a profile).
using Point = std::vector<double>;

double squared_distance(const Point& a, const Point& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d += (a[i] - b[i]) * (a[i] - b[i]);
  return d;
}

// The Euclidean distance scaled by the largest difference, so that points whose squared differences
// underflow (sensitivities near 1e-200) still differ.
double distance(const Point& a, const Point& b) {
  double largest = 0;
  for (size_t i = 0; i < a.size(); ++i) largest = std::max(largest, std::abs(a[i] - b[i]));
  if (largest == 0) return 0;
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += ((a[i] - b[i]) / largest) * ((a[i] - b[i]) / largest);
  return largest * std::sqrt(sum);
}

double coordinate_sum(const Point& p) { return std::accumulate(p.begin(), p.end(), 0.0); }

// Centroids ordered from the least sensitive up: by coordinate sum, then lexicographically.
bool less_sensitive(const Point& a, const Point& b) {
  const double sa = coordinate_sum(a), sb = coordinate_sum(b);
  return sa != sb ? sa < sb : a < b;
}

struct Clustering {
  std::vector<Point> centroids;  // least sensitive first
  std::vector<int> cluster;      // per point
  double inertia = 0;
  int iterations = 0;
  bool converged = false;
};

// k-means++: the first centre uniformly, each next one with probability ∝ its squared distance to the
// nearest centre chosen, which never repeats a point. `count` must not exceed the distinct points.
std::vector<Point> kmeans_plus_plus(const std::vector<Point>& points, int count, std::mt19937_64& rng) {
  const size_t n = points.size();
  std::vector<Point> centres = {points[rng() % n]};
  std::vector<double> nearest(n);
  for (size_t i = 0; i < n; ++i) nearest[i] = squared_distance(points[i], centres[0]);
  while (static_cast<int>(centres.size()) < count) {
    const double total = std::accumulate(nearest.begin(), nearest.end(), 0.0);
    size_t pick = 0;
    if (total > 0) {
      const double target = uniform01(rng) * total;
      double running = 0;
      // The last positive weight catches a target that rounding put past the running sum.
      for (size_t i = 0; i < n; ++i) {
        if (nearest[i] == 0) continue;
        pick = i;
        running += nearest[i];
        if (target < running) break;
      }
    } else {
      // Distinct points so close that their squared distances underflow: take the first new one.
      while (std::find(centres.begin(), centres.end(), points[pick]) != centres.end()) ++pick;
    }
    centres.push_back(points[pick]);
    for (size_t i = 0; i < n; ++i) nearest[i] = std::min(nearest[i], squared_distance(points[i], points[pick]));
  }
  std::sort(centres.begin(), centres.end(), less_sensitive);
  return centres;
}

// Nearest centroid (least sensitive first), a tie going to the later one: the more sensitive cluster.
std::vector<int> nearest_centroids(const std::vector<Point>& points, const std::vector<Point>& centroids) {
  std::vector<int> cluster(points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    int best = 0;
    double best_distance = distance(points[i], centroids[0]);
    for (int c = 1; c < static_cast<int>(centroids.size()); ++c) {
      const double d = distance(points[i], centroids[c]);
      if (d <= best_distance) {
        best = c;
        best_distance = d;
      }
    }
    cluster[i] = best;
  }
  return cluster;
}

// Renumbers clusters so that only those with members remain, in the same order.
void drop_empty_clusters(std::vector<Point>& centroids, std::vector<int>& cluster) {
  std::vector<bool> used(centroids.size(), false);
  for (int c : cluster) used[c] = true;
  std::vector<int> renumber(centroids.size(), -1);
  std::vector<Point> kept;
  for (size_t c = 0; c < centroids.size(); ++c) {
    if (!used[c]) continue;
    renumber[c] = static_cast<int>(kept.size());
    kept.push_back(centroids[c]);
  }
  for (int& c : cluster) c = renumber[c];
  centroids = std::move(kept);
}

// Renumbers clusters so that their centroids are least sensitive first (in 1-D Lloyd keeps them
// ascending anyway: nearest-centroid clusters are intervals in centroid order; not so in more).
void order_clusters(std::vector<Point>& centroids, std::vector<int>& cluster) {
  std::vector<int> order(centroids.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return less_sensitive(centroids[a], centroids[b]); });
  std::vector<int> renumber(centroids.size());
  std::vector<Point> sorted;
  for (size_t r = 0; r < order.size(); ++r) {
    renumber[order[r]] = static_cast<int>(r);
    sorted.push_back(centroids[order[r]]);
  }
  for (int& c : cluster) c = renumber[c];
  centroids = std::move(sorted);
}

// Lloyd from distinct centres; a cluster that loses every member is dropped.
Clustering lloyd(const std::vector<Point>& points, std::vector<Point> centroids, int max_iterations) {
  Clustering out;
  const size_t dims = points.front().size();
  std::vector<int> cluster = nearest_centroids(points, centroids);
  while (true) {
    drop_empty_clusters(centroids, cluster);
    if (out.converged || out.iterations == max_iterations) break;
    std::vector<Point> sum(centroids.size(), Point(dims, 0.0));
    std::vector<int> members(centroids.size(), 0);
    for (size_t i = 0; i < points.size(); ++i) {
      for (size_t d = 0; d < dims; ++d) sum[cluster[i]][d] += points[i][d];
      ++members[cluster[i]];
    }
    for (size_t c = 0; c < centroids.size(); ++c)
      for (size_t d = 0; d < dims; ++d) centroids[c][d] = sum[c][d] / members[c];
    order_clusters(centroids, cluster);  // so that a tie below goes to the more sensitive centroid
    ++out.iterations;
    std::vector<int> next = nearest_centroids(points, centroids);
    out.converged = next == cluster;
    cluster = std::move(next);
  }
  for (size_t i = 0; i < points.size(); ++i) out.inertia += squared_distance(points[i], centroids[cluster[i]]);
  out.centroids = std::move(centroids);
  out.cluster = std::move(cluster);
  return out;
}

// numpy.percentile's default ("linear"): position p/100 · (n − 1) in the sorted values, interpolated.
double percentile_of_sorted(const std::vector<double>& sorted, double percentile) {
  const double position = percentile / 100.0 * static_cast<double>(sorted.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  if (below + 1 >= sorted.size()) return sorted.back();
  const double fraction = position - static_cast<double>(below);
  return sorted[below] + fraction * (sorted[below + 1] - sorted[below]);
}

// Each unit's sensitivity at `bits`, one of the problem's widths.
std::vector<double> scores_at(const AllocationProblem& problem, int bits) {
  const size_t w = std::find(problem.bits.begin(), problem.bits.end(), bits) - problem.bits.begin();
  std::vector<double> scores;
  for (const AllocationUnit& unit : problem.units) scores.push_back(unit.sensitivity[w]);
  return scores;
}

// One (bytes, sensitivity) pair of a Pareto front and how it was reached: the pair of the front before
// this unit it extends, and this unit's width.
struct FrontEntry {
  int64_t bytes;
  double sensitivity;
  int32_t parent;
  int32_t width;
};

// What k-means clusters: each unit's score, its log, or the log of its sensitivity at every width.
std::vector<Point> cluster_points(const AllocationProblem& problem, const std::vector<double>& scores,
                                  ClusterSpace space) {
  const auto log_of = [](double s) { return std::log10(std::max(s, kLogFloor)); };
  std::vector<Point> points;
  for (size_t u = 0; u < problem.units.size(); ++u) {
    if (space == ClusterSpace::kScore) points.push_back({scores[u]});
    if (space == ClusterSpace::kLogScore) points.push_back({log_of(scores[u])});
    if (space == ClusterSpace::kLogProfile) {
      Point p;
      for (double s : problem.units[u].sensitivity) p.push_back(log_of(s));
      points.push_back(std::move(p));
    }
  }
  return points;
}

}  // namespace

void validate_allocation_problem(const AllocationProblem& problem) {
  if (problem.bits.empty())
    throw UsageError("allocation: no candidate widths, expected at least one (e.g. 2, 4, 8, 16)");
  for (size_t w = 0; w < problem.bits.size(); ++w) {
    if (problem.bits[w] <= 0)
      throw UsageError("allocation: width " + std::to_string(problem.bits[w]) + " bits, expected a positive bit count");
    if (w > 0 && problem.bits[w] <= problem.bits[w - 1])
      throw UsageError("allocation: widths must be strictly increasing, found " + std::to_string(problem.bits[w]) +
                       " bits after " + std::to_string(problem.bits[w - 1]));
  }
  if (problem.units.empty()) throw UsageError("allocation: no units to allocate widths to");
  if (problem.fixed_bytes < 0)
    throw DataError("allocation: fixed bytes " + std::to_string(problem.fixed_bytes) + ", expected >= 0");
  std::set<std::string_view> names;
  const size_t widths = problem.bits.size();
  for (const AllocationUnit& unit : problem.units) {
    if (unit.name.empty()) throw DataError("allocation: a unit has an empty name, expected its module name");
    if (!names.insert(unit.name).second) throw DataError(unit_where(unit) + " appears twice, expected unique names");
    if (unit.parameters <= 0)
      throw DataError(unit_where(unit) + ": " + std::to_string(unit.parameters) + " parameters, expected > 0");
    if (unit.sensitivity.size() != widths)
      throw ShapeError(unit_where(unit) + ": " + std::to_string(unit.sensitivity.size()) +
                       " sensitivities, expected one per width (" + std::to_string(widths) + ")");
    if (unit.bytes.size() != widths)
      throw ShapeError(unit_where(unit) + ": " + std::to_string(unit.bytes.size()) +
                       " sizes in bytes, expected one per width (" + std::to_string(widths) + ")");
    for (size_t w = 0; w < widths; ++w) {
      const std::string at = unit_where(unit) + " at " + std::to_string(problem.bits[w]) + " bits: ";
      if (!std::isfinite(unit.sensitivity[w]) || unit.sensitivity[w] < 0)
        throw DataError(at + "sensitivity " + std::to_string(unit.sensitivity[w]) + ", expected finite and >= 0");
      if (unit.bytes[w] < 0) throw DataError(at + std::to_string(unit.bytes[w]) + " bytes, expected >= 0");
    }
  }
}

int score_bits_of(const AllocationProblem& problem, const ScoreChoice& choice) {
  validate_allocation_problem(problem);
  if (!choice.score_bits) return problem.bits.front();
  if (std::find(problem.bits.begin(), problem.bits.end(), *choice.score_bits) == problem.bits.end()) {
    std::string widths;
    for (int b : problem.bits) widths += (widths.empty() ? "" : ", ") + std::to_string(b);
    throw UsageError("allocation: score width " + std::to_string(*choice.score_bits) +
                     " bits, expected one of the candidate widths (" + widths + ")");
  }
  return *choice.score_bits;
}

std::vector<double> unit_scores(const AllocationProblem& problem, const ScoreChoice& choice) {
  return scores_at(problem, score_bits_of(problem, choice));
}

ClusterSpace parse_cluster_space(std::string_view name) {
  for (ClusterSpace space : {ClusterSpace::kScore, ClusterSpace::kLogScore, ClusterSpace::kLogProfile})
    if (name == cluster_space_name(space)) return space;
  throw UsageError("--cluster_on " + std::string(name) + ": expected score, log_score or log_profile");
}

std::string_view cluster_space_name(ClusterSpace space) {
  switch (space) {
    case ClusterSpace::kScore: return "score";
    case ClusterSpace::kLogScore: return "log_score";
    case ClusterSpace::kLogProfile: return "log_profile";
  }
  return "?";
}

std::string_view allocation_method_name(const Allocation& allocation) {
  constexpr std::string_view kNames[] = {"given", "kmeans", "percentile", "budget"};
  static_assert(std::size(kNames) == std::variant_size_v<AllocationDetails>);
  return kNames[allocation.details.index()];
}

Allocation summarize_allocation(const AllocationProblem& problem, std::vector<int> width_index) {
  validate_allocation_problem(problem);
  if (width_index.size() != problem.units.size())
    throw ShapeError("allocation: " + std::to_string(width_index.size()) + " widths chosen, expected one per unit (" +
                     std::to_string(problem.units.size()) + ")");
  Allocation out;
  int64_t parameters = 0;
  double parameter_bits = 0;
  for (size_t u = 0; u < problem.units.size(); ++u) {
    const AllocationUnit& unit = problem.units[u];
    const int w = width_index[u];
    if (w < 0 || w >= static_cast<int>(problem.bits.size()))
      throw ShapeError(unit_where(unit) + ": width index " + std::to_string(w) + ", expected 0 to " +
                       std::to_string(problem.bits.size() - 1));
    out.bits.push_back(problem.bits[w]);
    out.unit_bytes += unit.bytes[w];
    out.total_sensitivity += unit.sensitivity[w];
    parameters += unit.parameters;
    parameter_bits += static_cast<double>(unit.parameters) * problem.bits[w];
  }
  out.total_bytes = out.unit_bytes + problem.fixed_bytes;
  out.average_stored_bits = static_cast<double>(out.unit_bytes + problem.fixed_weight_bytes) * 8.0 /
                            static_cast<double>(parameters + problem.fixed_weights);
  out.average_nominal_bits = parameter_bits / static_cast<double>(parameters);
  out.width_index = std::move(width_index);
  return out;
}

Allocation allocate_kmeans(const AllocationProblem& problem, const KMeansOptions& options) {
  KMeansDetails details;
  details.score_bits = score_bits_of(problem, options.score);
  details.scores = scores_at(problem, details.score_bits);
  details.space = options.space;
  if (options.restarts < 1)
    throw UsageError("k-means allocation: " + std::to_string(options.restarts) + " restarts, expected at least 1");
  if (options.max_iterations < 1)
    throw UsageError("k-means allocation: " + std::to_string(options.max_iterations) +
                     " iterations, expected at least 1");
  const std::vector<Point> points = cluster_points(problem, details.scores, options.space);
  const int widths = static_cast<int>(problem.bits.size());
  const int distinct = static_cast<int>(std::set<Point>(points.begin(), points.end()).size());
  const int clusters = std::min(widths, distinct);

  std::mt19937_64 rng(options.seed);
  Clustering best;
  for (int restart = 0; restart < options.restarts; ++restart) {
    Clustering run = lloyd(points, kmeans_plus_plus(points, clusters, rng), options.max_iterations);
    if (restart == 0 || run.inertia < best.inertia) best = std::move(run);
  }

  // Ranked from the most sensitive down, clusters take widths from the widest down.
  const int offset = widths - static_cast<int>(best.centroids.size());
  std::vector<int> width_index;
  for (int c : best.cluster) width_index.push_back(offset + c);
  details.centroids = std::move(best.centroids);
  details.cluster = std::move(best.cluster);
  details.inertia = best.inertia;
  details.iterations = best.iterations;
  details.converged = best.converged;
  details.seed = options.seed;
  details.restarts = options.restarts;
  Allocation out = summarize_allocation(problem, std::move(width_index));
  out.details = std::move(details);
  return out;
}

Allocation allocate_percentile(const AllocationProblem& problem, const PercentileOptions& options) {
  PercentileDetails details;
  details.score_bits = score_bits_of(problem, options.score);
  details.scores = scores_at(problem, details.score_bits);
  const int widths = static_cast<int>(problem.bits.size());
  details.percentiles = options.percentiles;
  if (details.percentiles.empty())
    for (int i = 1; i < widths; ++i) details.percentiles.push_back(100.0 * i / widths);
  if (static_cast<int>(details.percentiles.size()) != widths - 1)
    throw UsageError("percentile allocation: " + std::to_string(details.percentiles.size()) +
                     " percentiles, expected one fewer than the widths (" + std::to_string(widths - 1) + ")");
  for (size_t i = 0; i < details.percentiles.size(); ++i) {
    const double p = details.percentiles[i];
    if (!(p > 0 && p < 100))
      throw UsageError("percentile allocation: percentile " + std::to_string(p) + ", expected within (0, 100)");
    if (i > 0 && p <= details.percentiles[i - 1])
      throw UsageError("percentile allocation: percentiles must be strictly increasing, found " + std::to_string(p) +
                       " after " + std::to_string(details.percentiles[i - 1]));
  }
  std::vector<double> sorted = details.scores;
  std::sort(sorted.begin(), sorted.end());
  for (double p : details.percentiles) details.thresholds.push_back(percentile_of_sorted(sorted, p));

  std::vector<int> width_index;
  for (double score : details.scores)
    width_index.push_back(static_cast<int>(
        std::upper_bound(details.thresholds.begin(), details.thresholds.end(), score) - details.thresholds.begin()));
  Allocation out = summarize_allocation(problem, std::move(width_index));
  out.details = std::move(details);
  return out;
}

Allocation allocate_budget(const AllocationProblem& problem, int64_t budget_bytes) {
  validate_allocation_problem(problem);
  const size_t n = problem.units.size();
  // smallest_after[u]: the fewest bytes units u.. can take, to drop pairs that cannot fit early.
  std::vector<int64_t> smallest_after(n + 1, 0);
  for (size_t u = n; u-- > 0;) {
    const std::vector<int64_t>& bytes = problem.units[u].bytes;
    smallest_after[u] = smallest_after[u + 1] + *std::min_element(bytes.begin(), bytes.end());
  }
  BudgetDetails details;
  details.budget_bytes = budget_bytes;
  details.minimum_bytes = smallest_after[0] + problem.fixed_bytes;
  if (details.minimum_bytes > budget_bytes)
    throw UsageError("budget allocation: a budget of " + std::to_string(budget_bytes) +
                     " bytes, expected at least the smallest allocation, " + std::to_string(details.minimum_bytes) +
                     " bytes (every unit at its smallest width plus " + std::to_string(problem.fixed_bytes) +
                     " fixed bytes)");
  const int64_t capacity = budget_bytes - problem.fixed_bytes;

  // fronts[u + 1]: over units 0..u, every (bytes, sensitivity) pair no other pair beats on both, bytes
  // ascending and sensitivity strictly descending. Extending dominated pairs by the same widths only
  // gives dominated pairs (floating-point addition is monotone too), so the last front holds the optimum.
  std::vector<std::vector<FrontEntry>> fronts(n + 1);
  fronts[0] = {{0, 0.0, -1, -1}};
  std::vector<FrontEntry> candidates;
  for (size_t u = 0; u < n; ++u) {
    const AllocationUnit& unit = problem.units[u];
    const std::vector<FrontEntry>& previous = fronts[u];
    candidates.clear();
    for (size_t p = 0; p < previous.size(); ++p)
      for (size_t w = 0; w < unit.bytes.size(); ++w) {
        const int64_t bytes = previous[p].bytes + unit.bytes[w];
        if (bytes + smallest_after[u + 1] > capacity) continue;
        candidates.push_back({bytes, previous[p].sensitivity + unit.sensitivity[w], static_cast<int32_t>(p),
                              static_cast<int32_t>(w)});
      }
    std::stable_sort(candidates.begin(), candidates.end(), [](const FrontEntry& a, const FrontEntry& b) {
      return a.bytes != b.bytes ? a.bytes < b.bytes : a.sensitivity < b.sensitivity;
    });
    std::vector<FrontEntry>& front = fronts[u + 1];
    for (const FrontEntry& c : candidates)
      if (front.empty() || c.sensitivity < front.back().sensitivity) front.push_back(c);
    details.largest_pareto_front = std::max<int64_t>(details.largest_pareto_front, static_cast<int64_t>(front.size()));
  }

  // The least sensitivity is the last pair; walk its parents back to unit 0.
  std::vector<int> width_index(n);
  int32_t entry = static_cast<int32_t>(fronts[n].size()) - 1;
  for (size_t u = n; u-- > 0;) {
    const FrontEntry& e = fronts[u + 1][entry];
    width_index[u] = e.width;
    entry = e.parent;
  }
  Allocation out = summarize_allocation(problem, std::move(width_index));
  out.details = details;
  return out;
}

int64_t budget_from_size_mb(double target_size_mb) {
  if (!std::isfinite(target_size_mb) || target_size_mb <= 0)
    throw UsageError("--target_size_mb " + std::to_string(target_size_mb) +
                     ", expected a positive size in MB (10^6 bytes)");
  return static_cast<int64_t>(std::floor(target_size_mb * 1e6));
}

int64_t budget_from_average_bits(const AllocationProblem& problem, double target_avg_bits) {
  validate_allocation_problem(problem);
  if (!std::isfinite(target_avg_bits) || target_avg_bits <= 0)
    throw UsageError("--target_avg_bits " + std::to_string(target_avg_bits) +
                     ", expected a positive number of stored bits per parameter");
  int64_t parameters = problem.fixed_weights;
  for (const AllocationUnit& unit : problem.units) parameters += unit.parameters;
  return static_cast<int64_t>(std::floor(target_avg_bits * static_cast<double>(parameters) / 8.0)) -
         problem.fixed_weight_bytes + problem.fixed_bytes;
}

}  // namespace squish
