// Mixed-precision bit allocation: given how much damage each unit (an encoder layer, one Linear, the
// word embeddings) takes at each candidate width and what it then weighs, choose one width per unit.
// Pure algorithms over numbers the caller measured; nothing here touches a model. Three methods:
//  - k-means (the study's method): k-means over one score per unit (or its log, or the log of every
//    width's sensitivity), the most sensitive cluster gets the most bits;
//  - percentile: thresholds at percentiles of the same scores;
//  - budget: the exact minimum of total sensitivity under a byte budget (a multiple-choice knapsack).
// k-means and percentile rank units relative to each other and ignore sizes; budget is the only one
// that meets a size target. docs/allocation.md has the formulations and complexities.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace squish {

struct AllocationUnit {
  std::string name;                 // "encoder.layer.3", a Linear name or "embeddings"; unique in a problem
  int64_t parameters = 0;           // weights the unit holds (> 0)
  std::vector<double> sensitivity;  // per width, in AllocationProblem::bits order; finite, >= 0, higher = worse
  std::vector<int64_t> bytes;       // per width, stored bytes including group parameters (>= 0)
};

struct AllocationProblem {
  std::vector<int> bits;  // candidate widths, strictly increasing (e.g. 2, 4, 8, 16)
  std::vector<AllocationUnit> units;
  int64_t fixed_bytes = 0;  // what no width changes (LayerNorms, biases, the head), counted in sizes only
  // The Linear weights no unit holds (the head) and their stored bytes: counted in the stored bits
  // per weight as quantize and eval count them (every Linear's weights and the word embeddings).
  int64_t fixed_weights = 0, fixed_weight_bytes = 0;
};

// UsageError for widths that are not strictly increasing positive bits or a problem with no units,
// ShapeError for a unit whose sensitivity or bytes do not have one entry per width, DataError for a
// duplicate name or a value out of range (non-positive parameters, negative or non-finite
// sensitivity, negative bytes or fixed bytes). Every allocation function validates first.
void validate_allocation_problem(const AllocationProblem& problem);

// The score k-means and percentile rank units by: each unit's sensitivity at one width.
// `score_bits` empty means the lowest width, where quantization hurts most and units differ most.
struct ScoreChoice {
  std::optional<int> score_bits = std::nullopt;
};
// The width `choice` names (UsageError if it is not one of problem.bits) and each unit's score there.
int score_bits_of(const AllocationProblem& problem, const ScoreChoice& choice);
std::vector<double> unit_scores(const AllocationProblem& problem, const ScoreChoice& choice);

// The space k-means clusters units in (docs/allocation.md measures each on the MiniLM models):
//  - kScore: the sensitivity at the score width, as the study clusters it;
//  - kLogScore: its log10, so that differences of ratio count alike at every scale;
//  - kLogProfile: log10 of the sensitivity at every width, jointly (clusters then rank by the sum of
//    their centroid's coordinates).
// Logs floor a sensitivity at kLogFloor (an fp16 width often measures exactly 0).
enum class ClusterSpace { kScore, kLogScore, kLogProfile };
inline constexpr double kLogFloor = 1e-12;
ClusterSpace parse_cluster_space(std::string_view name);  // score | log_score | log_profile; UsageError otherwise
std::string_view cluster_space_name(ClusterSpace space);

struct KMeansOptions {
  ScoreChoice score = {};
  ClusterSpace space = ClusterSpace::kScore;
  uint64_t seed = 0;        // seeds the std::mt19937_64 of k-means++
  int restarts = 10;        // k-means++ initialisations; the lowest within-cluster sum of squares wins
  int max_iterations = 300;  // Lloyd iterations per restart (a handful of units converge long before)
};

struct PercentileOptions {
  ScoreChoice score = {};
  // k - 1 strictly increasing percentiles in (0, 100) for k widths; empty = equal quantiles 100·i/k.
  std::vector<double> percentiles;
};

struct KMeansDetails {
  int score_bits = 0;
  ClusterSpace space = ClusterSpace::kScore;
  std::vector<double> scores;                  // per unit, at score_bits
  std::vector<std::vector<double>> centroids;  // in `space`, least sensitive first; one per non-empty cluster
  std::vector<int> cluster;       // per unit, index into centroids
  double inertia = 0;             // Σ ‖point − its centroid‖² of the chosen restart
  int iterations = 0;             // Lloyd iterations of the chosen restart
  bool converged = false;         // assignments stopped changing within max_iterations
  uint64_t seed = 0;
  int restarts = 0;
};

struct PercentileDetails {
  int score_bits = 0;
  std::vector<double> scores;       // per unit
  std::vector<double> percentiles;  // the k − 1 used
  std::vector<double> thresholds;   // the scores at those percentiles (numpy's default linear interpolation)
};

struct BudgetDetails {
  int64_t budget_bytes = 0;         // the limit on total_bytes (fixed bytes included)
  int64_t minimum_bytes = 0;        // every unit at its smallest size, plus fixed bytes
  int64_t largest_pareto_front = 0;  // the most (bytes, sensitivity) pairs the solver kept after one unit
};

// Details are empty (monostate) for an allocation the caller gave (summarize_allocation).
using AllocationDetails = std::variant<std::monostate, KMeansDetails, PercentileDetails, BudgetDetails>;

struct Allocation {
  std::vector<int> width_index;  // per unit, index into problem.bits
  std::vector<int> bits;         // per unit, problem.bits[width_index]
  int64_t unit_bytes = 0;        // Σ_u bytes[u][w_u]
  int64_t total_bytes = 0;       // unit_bytes + fixed_bytes
  double total_sensitivity = 0;  // Σ_u sensitivity[u][w_u], summed in unit order
  // (unit_bytes + fixed_weight_bytes) · 8 / (Σ parameters + fixed_weights): stored bits per weight of
  // every Linear and the word embeddings, the figure quantize and eval report.
  double average_stored_bits = 0;
  double average_nominal_bits = 0;  // Σ parameters · bits / Σ parameters: the widths alone
  AllocationDetails details;
};

// "kmeans", "percentile", "budget" or "given".
std::string_view allocation_method_name(const Allocation& allocation);

// The totals of a chosen width per unit (uniform baselines, checks); ShapeError for a wrong count or index.
Allocation summarize_allocation(const AllocationProblem& problem, std::vector<int> width_index);

// k = problem.bits.size() clusters, or as many as there are distinct scores when fewer. Clusters are
// ranked by centroid from the most sensitive down and take widths from the widest down, so with c < k
// clusters the c widest widths are used (equal scores: every unit at the widest width); a relative
// method cannot tell whether uniformly low scores are harmless, so it never assumes so.
// Deterministic for a seed: k-means++ draws each next centre with probability ∝ D², `restarts` times,
// and Lloyd iterates from each; a point equidistant from two centroids joins the more sensitive one.
Allocation allocate_kmeans(const AllocationProblem& problem, const KMeansOptions& options = {});

// Band b (0 = least sensitive) holds the units with exactly b thresholds at or below their score, and
// gets width b: a score equal to a threshold goes to the band above it (more bits), so tied units
// always share a width, and when every score is equal every unit gets the widest width.
Allocation allocate_percentile(const AllocationProblem& problem, const PercentileOptions& options = {});

// The exact minimum of Σ_u sensitivity[u][w_u] subject to Σ_u bytes[u][w_u] + fixed_bytes <= budget_bytes;
// among allocations of that sensitivity, the fewest bytes. UsageError naming the smallest possible size
// when even every unit at its smallest width exceeds the budget.
Allocation allocate_budget(const AllocationProblem& problem, int64_t budget_bytes);

// --target_size_mb: a total size (fixed bytes included), MB = 10^6 bytes, rounded down to whole bytes.
int64_t budget_from_size_mb(double target_size_mb);
// --target_avg_bits: average stored bits per parameter over the units, Σ unit bytes · 8 / Σ parameters,
// fixed bytes excluded (they hold no unit's parameters); returns floor(target · Σ parameters / 8) + fixed_bytes,
// the total-size budget allocate_budget takes. UsageError for a non-positive or non-finite target.
int64_t budget_from_average_bits(const AllocationProblem& problem, double target_avg_bits);

}  // namespace squish
