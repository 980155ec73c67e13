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

struct Clustering {
  std::vector<double> centroids;  // ascending
  std::vector<int> cluster;       // per score
  double inertia = 0;
  int iterations = 0;
  bool converged = false;
};

// k-means++: the first centre uniformly, each next one with probability ∝ its squared distance to the
// nearest centre chosen, which never repeats a value. `count` must not exceed the distinct scores.
std::vector<double> kmeans_plus_plus(const std::vector<double>& scores, int count, std::mt19937_64& rng) {
  const size_t n = scores.size();
  std::vector<double> centres = {scores[rng() % n]};
  std::vector<double> nearest(n);
  for (size_t i = 0; i < n; ++i) nearest[i] = (scores[i] - centres[0]) * (scores[i] - centres[0]);
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
      // Distinct scores so close that their squared distances underflow: take the first new value.
      while (std::find(centres.begin(), centres.end(), scores[pick]) != centres.end()) ++pick;
    }
    centres.push_back(scores[pick]);
    for (size_t i = 0; i < n; ++i) {
      const double d = (scores[i] - scores[pick]) * (scores[i] - scores[pick]);
      nearest[i] = std::min(nearest[i], d);
    }
  }
  std::sort(centres.begin(), centres.end());
  return centres;
}

// Nearest centroid (ascending), a tie going to the higher one: the more sensitive cluster.
std::vector<int> nearest_centroids(const std::vector<double>& scores, const std::vector<double>& centroids) {
  std::vector<int> cluster(scores.size());
  for (size_t i = 0; i < scores.size(); ++i) {
    int best = 0;
    for (int c = 1; c < static_cast<int>(centroids.size()); ++c)
      if (std::abs(scores[i] - centroids[c]) <= std::abs(scores[i] - centroids[best])) best = c;
    cluster[i] = best;
  }
  return cluster;
}

// Renumbers clusters so that only those with members remain, centroids still ascending.
void drop_empty_clusters(std::vector<double>& centroids, std::vector<int>& cluster) {
  std::vector<bool> used(centroids.size(), false);
  for (int c : cluster) used[c] = true;
  std::vector<int> renumber(centroids.size(), -1);
  std::vector<double> kept;
  for (size_t c = 0; c < centroids.size(); ++c) {
    if (!used[c]) continue;
    renumber[c] = static_cast<int>(kept.size());
    kept.push_back(centroids[c]);
  }
  for (int& c : cluster) c = renumber[c];
  centroids = std::move(kept);
}

// Lloyd from sorted distinct centres. In 1-D the nearest-centroid clusters are intervals in centroid
// order, so their means stay strictly ascending; a cluster that loses every member is dropped.
Clustering lloyd(const std::vector<double>& scores, std::vector<double> centroids, int max_iterations) {
  Clustering out;
  std::vector<int> cluster = nearest_centroids(scores, centroids);
  while (true) {
    drop_empty_clusters(centroids, cluster);
    if (out.converged || out.iterations == max_iterations) break;
    std::vector<double> sum(centroids.size(), 0.0);
    std::vector<int> members(centroids.size(), 0);
    for (size_t i = 0; i < scores.size(); ++i) {
      sum[cluster[i]] += scores[i];
      ++members[cluster[i]];
    }
    for (size_t c = 0; c < centroids.size(); ++c) centroids[c] = sum[c] / members[c];
    ++out.iterations;
    std::vector<int> next = nearest_centroids(scores, centroids);
    out.converged = next == cluster;
    cluster = std::move(next);
  }
  for (size_t i = 0; i < scores.size(); ++i) {
    const double d = scores[i] - centroids[cluster[i]];
    out.inertia += d * d;
  }
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
  if (options.restarts < 1)
    throw UsageError("k-means allocation: " + std::to_string(options.restarts) + " restarts, expected at least 1");
  if (options.max_iterations < 1)
    throw UsageError("k-means allocation: " + std::to_string(options.max_iterations) +
                     " iterations, expected at least 1");
  const int widths = static_cast<int>(problem.bits.size());
  const int distinct = static_cast<int>(std::set<double>(details.scores.begin(), details.scores.end()).size());
  const int clusters = std::min(widths, distinct);

  std::mt19937_64 rng(options.seed);
  Clustering best;
  for (int restart = 0; restart < options.restarts; ++restart) {
    Clustering run = lloyd(details.scores, kmeans_plus_plus(details.scores, clusters, rng), options.max_iterations);
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
