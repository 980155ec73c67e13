#include "eval/error_analysis.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "core/error.h"

namespace squish {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Softmax in double with the max subtracted, so large logits neither overflow nor lose the small
// probabilities KL needs.
std::vector<double> softmax(const std::vector<float>& logits) {
  const double top = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) sum += p[i] = std::exp(static_cast<double>(logits[i]) - top);
  for (double& v : p) v /= sum;
  return p;
}

// log p from logits directly (log-sum-exp), so KL stays finite when a probability underflows.
std::vector<double> log_softmax(const std::vector<float>& logits) {
  const double top = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - top);
  const double log_z = top + std::log(sum);
  std::vector<double> out(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) out[i] = static_cast<double>(logits[i]) - log_z;
  return out;
}

void check_aligned(const std::vector<ExamplePrediction>& ref, const std::vector<ExamplePrediction>& cmp) {
  if (ref.empty()) throw DataError("error analysis: expected at least one example, found none");
  if (ref.size() != cmp.size())
    throw DataError(fmt::format("error analysis: expected the same examples from both models, found {} reference and {} "
                                "compressed predictions", ref.size(), cmp.size()));
  const size_t width = ref[0].logits.size();
  if (width < 2) throw DataError(fmt::format("error analysis: expected at least 2 logits per example, found {}", width));
  for (size_t i = 0; i < ref.size(); ++i) {
    const ExamplePrediction &a = ref[i], &b = cmp[i];
    if (a.index != b.index || a.label != b.label)
      throw DataError(fmt::format("error analysis: row {}: expected the same example in both lists, found index {} label {} "
                                  "(reference) and index {} label {} (compressed)", i, a.index, a.label, b.index, b.label));
    if (a.logits.size() != width || b.logits.size() != width)
      throw DataError(fmt::format("error analysis: example {}: expected {} logits from both models, found {} and {}", a.index,
                                  width, a.logits.size(), b.logits.size()));
    for (int pred : {a.pred, b.pred})
      if (pred < 0 || pred >= static_cast<int>(width))
        throw DataError(fmt::format("error analysis: example {}: expected a prediction in [0, {}), found {}", a.index, width, pred));
    if (a.label < -1 || a.label >= static_cast<int>(width))
      throw DataError(fmt::format("error analysis: example {}: expected a label in [-1, {}), found {}", a.index, width, a.label));
  }
}

Outcome outcome_of(bool reference_right, bool compressed_right) {
  if (reference_right) return compressed_right ? Outcome::kBothRight : Outcome::kOnlyCompressedWrong;
  return compressed_right ? Outcome::kOnlyReferenceWrong : Outcome::kBothWrong;
}

double mean_or_nan(double sum, int64_t n) { return n > 0 ? sum / static_cast<double>(n) : kNaN; }

// Bins over [lo, 1]: a confidence exactly 1 (or rounding just past it) lands in the last bin.
int bin_of(double confidence, double lo, int bins) {
  const int b = static_cast<int>(std::floor((confidence - lo) / (1.0 - lo) * bins));
  return std::clamp(b, 0, bins - 1);
}

ModelConfidence confidence_stats(const std::vector<ExampleComparison>& rows, bool reference, bool labeled, int num_labels,
                                 int bins) {
  ModelConfidence m;
  m.histogram.lo = 1.0 / num_labels;
  m.histogram.all.assign(static_cast<size_t>(bins), 0);
  if (labeled) m.histogram.correct = m.histogram.wrong = m.histogram.all;
  double sum = 0, sum_correct = 0, sum_wrong = 0;
  for (const ExampleComparison& e : rows) {
    const double c = reference ? e.reference_confidence : e.compressed_confidence;
    const size_t b = static_cast<size_t>(bin_of(c, m.histogram.lo, bins));
    sum += c;
    ++m.histogram.all[b];
    if (!labeled) continue;
    if ((reference ? e.reference_pred : e.compressed_pred) == e.label) {
      ++m.correct, sum_correct += c, ++m.histogram.correct[b];
    } else {
      ++m.wrong, sum_wrong += c, ++m.histogram.wrong[b];
    }
  }
  m.mean = mean_or_nan(sum, static_cast<int64_t>(rows.size()));
  m.mean_correct = mean_or_nan(sum_correct, m.correct);
  m.mean_wrong = mean_or_nan(sum_wrong, m.wrong);
  return m;
}

// Flips first, then the more confident of the two models, then dataset order (a stable tie-break).
bool shown_before(const ExampleComparison& a, const ExampleComparison& b) {
  if (a.flip != b.flip) return a.flip;
  const double ca = std::max(a.reference_confidence, a.compressed_confidence);
  const double cb = std::max(b.reference_confidence, b.compressed_confidence);
  if (ca != cb) return ca > cb;
  return a.index < b.index;
}

std::vector<size_t> first_shown(std::vector<size_t> positions, const std::vector<ExampleComparison>& rows, int keep) {
  std::sort(positions.begin(), positions.end(), [&](size_t a, size_t b) { return shown_before(rows[a], rows[b]); });
  if (positions.size() > static_cast<size_t>(keep)) positions.resize(static_cast<size_t>(keep));
  return positions;
}

}  // namespace

std::string_view outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kBothRight: return "both_right";
    case Outcome::kBothWrong: return "both_wrong";
    case Outcome::kOnlyReferenceWrong: return "only_reference_wrong";
    case Outcome::kOnlyCompressedWrong: return "only_compressed_wrong";
  }
  return "";
}

int64_t Breakdown::total() const { return std::accumulate(counts.begin(), counts.end(), int64_t{0}); }

double pearson_correlation(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size())
    throw DataError(fmt::format("pearson: expected two series of one length, found {} and {}", x.size(), y.size()));
  const size_t n = x.size();
  if (n < 2) return kNaN;
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(n);
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / static_cast<double>(n);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    const double dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy, sxx += dx * dx, syy += dy * dy;
  }
  if (sxx == 0 || syy == 0) return kNaN;
  return sxy / std::sqrt(sxx * syy);
}

std::vector<double> average_ranks(const std::vector<double>& x) {
  std::vector<size_t> order(x.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> ranks(x.size());
  for (size_t start = 0; start < order.size();) {
    size_t end = start + 1;
    while (end < order.size() && x[order[end]] == x[order[start]]) ++end;
    // Ranks start+1 .. end (1-based) share their mean.
    const double rank = (static_cast<double>(start + 1) + static_cast<double>(end)) / 2.0;
    for (size_t k = start; k < end; ++k) ranks[order[k]] = rank;
    start = end;
  }
  return ranks;
}

double spearman_correlation(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size())
    throw DataError(fmt::format("spearman: expected two series of one length, found {} and {}", x.size(), y.size()));
  return pearson_correlation(average_ranks(x), average_ranks(y));
}

ErrorAnalysis analyze_errors(const std::vector<ExamplePrediction>& reference,
                             const std::vector<ExamplePrediction>& compressed, const ErrorAnalysisOptions& options) {
  if (options.histogram_bins < 1)
    throw UsageError(fmt::format("error analysis: expected histogram_bins >= 1, found {}", options.histogram_bins));
  if (options.examples_per_outcome < 0)
    throw UsageError(fmt::format("error analysis: expected examples_per_outcome >= 0, found {}", options.examples_per_outcome));
  check_aligned(reference, compressed);
  ErrorAnalysis a;
  const int c = static_cast<int>(reference[0].logits.size());
  a.num_labels = c;
  a.labeled = std::all_of(reference.begin(), reference.end(), [](const ExamplePrediction& p) { return p.label >= 0; });
  a.agreement.assign(static_cast<size_t>(c * c), 0);
  if (a.labeled) a.breakdown_by_label.assign(static_cast<size_t>(c), Breakdown{});

  double sum_abs_delta = 0, sum_kl = 0;
  for (size_t i = 0; i < reference.size(); ++i) {
    const ExamplePrediction &r = reference[i], &m = compressed[i];
    const std::vector<double> pr = softmax(r.logits), pm = softmax(m.logits);
    const std::vector<double> lr = log_softmax(r.logits), lm = log_softmax(m.logits);
    ExampleComparison e;
    e.index = r.index, e.label = r.label, e.reference_pred = r.pred, e.compressed_pred = m.pred;
    e.reference_confidence = pr[static_cast<size_t>(r.pred)];
    e.compressed_confidence = pm[static_cast<size_t>(m.pred)];
    e.reference_p1 = pr[1], e.compressed_p1 = pm[1];
    for (int k = 0; k < c; ++k) {
      const double delta = std::abs(static_cast<double>(m.logits[k]) - static_cast<double>(r.logits[k]));
      e.max_abs_logit_delta = std::max(e.max_abs_logit_delta, delta);
      sum_abs_delta += delta;
      e.kl += pr[k] * (lr[k] - lm[k]);
    }
    e.flip = r.pred != m.pred;
    a.flips += e.flip;
    ++a.agreement[static_cast<size_t>(r.pred * c + m.pred)];
    if (a.labeled) {
      e.outcome = outcome_of(r.pred == r.label, m.pred == r.label);
      ++a.breakdown.counts[static_cast<size_t>(*e.outcome)];
      ++a.breakdown_by_label[static_cast<size_t>(r.label)].counts[static_cast<size_t>(*e.outcome)];
    }
    sum_kl += e.kl;
    a.drift.max_abs_logit_delta = std::max(a.drift.max_abs_logit_delta, e.max_abs_logit_delta);
    a.drift.max_kl = std::max(a.drift.max_kl, e.kl);
    a.examples.push_back(e);
  }
  const double n = static_cast<double>(a.examples.size());
  a.drift.mean_abs_logit_delta = sum_abs_delta / (n * c);
  a.drift.mean_kl = sum_kl / n;
  a.agreement_rate = 1.0 - static_cast<double>(a.flips) / n;

  a.reference = confidence_stats(a.examples, true, a.labeled, c, options.histogram_bins);
  a.compressed = confidence_stats(a.examples, false, a.labeled, c, options.histogram_bins);

  std::vector<double> p1_ref, p1_cmp;
  for (const ExampleComparison& e : a.examples) p1_ref.push_back(e.reference_p1), p1_cmp.push_back(e.compressed_p1);
  a.pearson_p1 = pearson_correlation(p1_ref, p1_cmp);
  a.spearman_p1 = spearman_correlation(p1_ref, p1_cmp);

  std::array<std::vector<size_t>, kOutcomes> by_outcome;
  std::vector<size_t> flips;
  for (size_t i = 0; i < a.examples.size(); ++i) {
    if (a.examples[i].outcome) by_outcome[static_cast<size_t>(*a.examples[i].outcome)].push_back(i);
    if (a.examples[i].flip) flips.push_back(i);
  }
  for (size_t o = 0; o < by_outcome.size(); ++o)
    a.representative[o] = first_shown(std::move(by_outcome[o]), a.examples, options.examples_per_outcome);
  a.top_flips = first_shown(std::move(flips), a.examples, options.examples_per_outcome);
  return a;
}

MultipleChoiceAgreement multiple_choice_agreement(const std::vector<ExamplePrediction>& reference,
                                                  const std::vector<ExamplePrediction>& compressed) {
  check_aligned(reference, compressed);
  MultipleChoiceAgreement m;
  std::vector<double> ll_ref, ll_cmp;
  for (size_t i = 0; i < reference.size(); ++i) {
    const ExamplePrediction &r = reference[i], &c = compressed[i];
    if (r.label < 0)
      throw DataError(fmt::format("error analysis: item {}: expected a gold choice, found none", r.index));
    const auto argmax = [](const std::vector<float>& v) { return std::max_element(v.begin(), v.end()) - v.begin(); };
    const auto acc_ref = argmax(r.logits), acc_cmp = argmax(c.logits);
    m.reference_acc += acc_ref == r.label;
    m.compressed_acc += acc_cmp == r.label;
    m.reference_acc_norm += r.pred == r.label;
    m.compressed_acc_norm += c.pred == r.label;
    m.acc_flips += acc_ref != acc_cmp;
    ll_ref.insert(ll_ref.end(), r.logits.begin(), r.logits.end());
    ll_cmp.insert(ll_cmp.end(), c.logits.begin(), c.logits.end());
  }
  const double n = static_cast<double>(reference.size());
  for (double* v : {&m.reference_acc, &m.compressed_acc, &m.reference_acc_norm, &m.compressed_acc_norm}) *v /= n;
  m.acc_agreement_rate = 1.0 - static_cast<double>(m.acc_flips) / n;
  m.loglikelihood_pearson = pearson_correlation(ll_ref, ll_cmp);
  return m;
}

}  // namespace squish
