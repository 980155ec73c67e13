// Where a compressed classifier disagrees with its reference (usually the FP32 original): statistics
// over two aligned prediction lists of the same examples. Pure computation: no model, no files, no
// texts (eval/compare_pipeline.h adds those). docs/run_folder.md ("squish.compare") documents every
// field as compare.json writes it.
//
// Choices, fixed here so a report and tools/error_analysis_reference.py read them the same way:
//  - confidence = softmax probability of the model's predicted class (computed in double);
//  - histograms: `histogram_bins` equal bins over [1/C, 1] (C classes: the lowest possible top-class
//    probability), the last bin closed; counted over all, correct and wrong examples per model;
//  - correlation: Pearson and Spearman (average ranks for ties) of the two models' probability of
//    class 1 (the positive class, as in metrics.h), which needs no labels and is the scatter a report
//    draws; NaN when either series is constant;
//  - drift: |Δlogit| over every logit of every example, KL(p_ref || p_cmp) in nats per example;
//  - a flip is an example whose two predictions differ; representative examples of each outcome list
//    flips first, then by the larger of the two confidences, descending, then by dataset index.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "eval/runner.h"

namespace squish {

struct ErrorAnalysisOptions {
  int histogram_bins = 10;
  int examples_per_outcome = 5;  // representative examples kept per outcome, and top flips kept
};

enum class Outcome { kBothRight = 0, kBothWrong, kOnlyReferenceWrong, kOnlyCompressedWrong };
inline constexpr int kOutcomes = 4;
// "both_right", "both_wrong", "only_reference_wrong", "only_compressed_wrong".
std::string_view outcome_name(Outcome o);

struct ExampleComparison {
  int64_t index = 0;  // the example's dataset index
  int label = -1;
  int reference_pred = 0, compressed_pred = 0;
  double reference_confidence = 0, compressed_confidence = 0;  // of each model's own prediction
  double reference_p1 = 0, compressed_p1 = 0;                  // probability of class 1
  double kl = 0;                   // KL(p_ref || p_cmp), nats
  double max_abs_logit_delta = 0;  // over this example's logits
  bool flip = false;
  std::optional<Outcome> outcome;  // labeled examples only
};

struct Breakdown {
  std::array<int64_t, kOutcomes> counts{};  // indexed by Outcome
  int64_t at(Outcome o) const { return counts[static_cast<size_t>(o)]; }
  int64_t total() const;
};

struct ConfidenceHistogram {
  double lo = 0.5, hi = 1.0;
  std::vector<int64_t> all, correct, wrong;  // correct/wrong empty when unlabeled
};

struct ModelConfidence {
  double mean = 0;                       // over every example
  int64_t correct = 0, wrong = 0;        // labeled only
  double mean_correct = 0, mean_wrong = 0;  // NaN when there is no such example
  ConfidenceHistogram histogram;
};

struct LogitDrift {
  double mean_abs_logit_delta = 0, max_abs_logit_delta = 0;
  double mean_kl = 0, max_kl = 0;
};

struct ErrorAnalysis {
  int num_labels = 0;
  bool labeled = false;  // every example has a gold label; the correctness statistics need it
  std::vector<ExampleComparison> examples;  // in the input order
  ModelConfidence reference, compressed;
  Breakdown breakdown;                       // labeled only
  std::vector<Breakdown> breakdown_by_label;  // [gold label], labeled only
  std::vector<int64_t> agreement;            // num_labels x num_labels, row = reference pred, col = compressed pred
  int64_t flips = 0;
  double agreement_rate = 0;
  double pearson_p1 = 0, spearman_p1 = 0;
  LogitDrift drift;
  std::array<std::vector<size_t>, kOutcomes> representative;  // positions into `examples`, by Outcome
  std::vector<size_t> top_flips;                              // positions into `examples`
};

// `reference` and `compressed` must list the same examples in the same order (equal index and label)
// with at least two logits each, of one width; DataError naming the first example that differs.
// UsageError for histogram_bins < 1 or examples_per_outcome < 0.
ErrorAnalysis analyze_errors(const std::vector<ExamplePrediction>& reference,
                             const std::vector<ExamplePrediction>& compressed, const ErrorAnalysisOptions& options = {});

// Multiple choice scored by log-likelihood (HellaSwag; eval/hellaswag_eval.h's predictions): pred is
// the length-normalised choice (acc_norm's), logits are the choices' summed log-likelihoods, whose
// argmax (first on ties) is acc's choice. analyze_errors() over them compares the acc_norm choices and
// its logit drift is the log-likelihood drift; this adds what acc and the raw sums say.
struct MultipleChoiceAgreement {
  double reference_acc = 0, compressed_acc = 0;            // argmax of the log-likelihoods is gold
  double reference_acc_norm = 0, compressed_acc_norm = 0;  // pred is gold
  int64_t acc_flips = 0;                                   // items whose argmax choices differ
  double acc_agreement_rate = 0;
  double loglikelihood_pearson = 0;  // over every choice of every item
};
// The same alignment checks as analyze_errors(); DataError for an unlabeled item.
MultipleChoiceAgreement multiple_choice_agreement(const std::vector<ExamplePrediction>& reference,
                                                  const std::vector<ExamplePrediction>& compressed);

// Sample Pearson correlation; NaN for fewer than two values or a constant series. DataError when the
// lengths differ.
double pearson_correlation(const std::vector<double>& x, const std::vector<double>& y);
// 1-based ranks, ties given the mean of the ranks they span (scipy.stats.rankdata "average").
std::vector<double> average_ranks(const std::vector<double>& x);
// Pearson of the average ranks.
double spearman_correlation(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace squish
