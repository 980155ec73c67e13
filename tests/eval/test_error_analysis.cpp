// Error analysis of two aligned prediction lists against a five-example table worked by hand (logits
// chosen as logs of small ratios so every softmax is a round number), plus ranks, correlations,
// unlabeled input and misaligned lists.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "eval/error_analysis.h"

namespace squish {
namespace {

// The logits are floats, so probabilities like 0.75 carry float rounding of log(3) (~1e-7 relative).
constexpr double kTol = 1e-6;
const float kLn3 = static_cast<float>(std::log(3.0)), kLn9 = static_cast<float>(std::log(9.0));

ExamplePrediction row(int64_t index, int label, std::vector<float> logits) {
  const int pred = logits[1] > logits[0] ? 1 : 0;
  return {index, label, pred, std::move(logits)};
}

// index: label | reference logits -> (pred, confidence)     | compressed logits -> (pred, confidence) | outcome
// 10:    1     | [0, ln3] -> (1, .75)                        | [0, ln9] -> (1, .90)                   | both right
// 11:    0     | [ln3, 0] -> (0, .75)                        | [0, ln3] -> (1, .75)                   | only compressed wrong
// 12:    1     | [ln9, 0] -> (0, .90)                        | [0, ln9] -> (1, .90)                   | only reference wrong
// 13:    0     | [0, ln3] -> (1, .75)                        | [0, ln3] -> (1, .75)                   | both wrong
// 14:    1     | [0, ln9] -> (1, .90)                        | [0, ln3] -> (1, .75)                   | both right
std::vector<ExamplePrediction> reference_rows() {
  return {row(10, 1, {0, kLn3}), row(11, 0, {kLn3, 0}), row(12, 1, {kLn9, 0}), row(13, 0, {0, kLn3}),
          row(14, 1, {0, kLn9})};
}
std::vector<ExamplePrediction> compressed_rows() {
  return {row(10, 1, {0, kLn9}), row(11, 0, {0, kLn3}), row(12, 1, {0, kLn9}), row(13, 0, {0, kLn3}),
          row(14, 1, {0, kLn3})};
}

ErrorAnalysis hand_case(int bins = 3, int keep = 5) {
  return analyze_errors(reference_rows(), compressed_rows(), {bins, keep});
}

TEST(ErrorAnalysis, BreakdownOverallAndByLabel) {
  const ErrorAnalysis a = hand_case();
  ASSERT_TRUE(a.labeled);
  EXPECT_EQ(a.breakdown.at(Outcome::kBothRight), 2);
  EXPECT_EQ(a.breakdown.at(Outcome::kBothWrong), 1);
  EXPECT_EQ(a.breakdown.at(Outcome::kOnlyReferenceWrong), 1);
  EXPECT_EQ(a.breakdown.at(Outcome::kOnlyCompressedWrong), 1);
  EXPECT_EQ(a.breakdown.total(), 5);
  ASSERT_EQ(a.breakdown_by_label.size(), 2u);
  const Breakdown &gold0 = a.breakdown_by_label[0], &gold1 = a.breakdown_by_label[1];
  EXPECT_EQ(gold0.at(Outcome::kOnlyCompressedWrong), 1);
  EXPECT_EQ(gold0.at(Outcome::kBothWrong), 1);
  EXPECT_EQ(gold0.total(), 2);
  EXPECT_EQ(gold1.at(Outcome::kBothRight), 2);
  EXPECT_EQ(gold1.at(Outcome::kOnlyReferenceWrong), 1);
  EXPECT_EQ(gold1.total(), 3);
}

TEST(ErrorAnalysis, AgreementMatrixAndFlips) {
  const ErrorAnalysis a = hand_case();
  // Rows reference pred, columns compressed pred: (1,1) (0,1) (0,1) (1,1) (1,1).
  EXPECT_EQ(a.agreement, (std::vector<int64_t>{0, 2, 0, 3}));
  EXPECT_EQ(a.flips, 2);
  EXPECT_DOUBLE_EQ(a.agreement_rate, 0.6);
  EXPECT_FALSE(a.examples[0].flip);
  EXPECT_TRUE(a.examples[1].flip);
  EXPECT_TRUE(a.examples[2].flip);
}

TEST(ErrorAnalysis, ConfidenceMeansOnRightAndWrong) {
  const ErrorAnalysis a = hand_case();
  EXPECT_NEAR(a.examples[2].reference_confidence, 0.9, kTol);
  EXPECT_NEAR(a.examples[1].compressed_confidence, 0.75, kTol);
  // Reference: right .75 .75 .90, wrong .90 .75.
  EXPECT_EQ(a.reference.correct, 3);
  EXPECT_EQ(a.reference.wrong, 2);
  EXPECT_NEAR(a.reference.mean, 0.81, kTol);
  EXPECT_NEAR(a.reference.mean_correct, 0.8, kTol);
  EXPECT_NEAR(a.reference.mean_wrong, 0.825, kTol);
  // Compressed: right .90 .90 .75, wrong .75 .75.
  EXPECT_EQ(a.compressed.correct, 3);
  EXPECT_NEAR(a.compressed.mean_correct, 0.85, kTol);
  EXPECT_NEAR(a.compressed.mean_wrong, 0.75, kTol);
}

TEST(ErrorAnalysis, HistogramsOverHalfToOne) {
  // 3 bins over [0.5, 1] of width 1/6: .75 falls in bin 1, .90 in bin 2 (neither on an edge).
  const ErrorAnalysis a = hand_case(3);
  EXPECT_DOUBLE_EQ(a.reference.histogram.lo, 0.5);
  EXPECT_EQ(a.reference.histogram.all, (std::vector<int64_t>{0, 3, 2}));
  EXPECT_EQ(a.reference.histogram.correct, (std::vector<int64_t>{0, 2, 1}));
  EXPECT_EQ(a.reference.histogram.wrong, (std::vector<int64_t>{0, 1, 1}));
  EXPECT_EQ(a.compressed.histogram.all, (std::vector<int64_t>{0, 3, 2}));
  EXPECT_EQ(a.compressed.histogram.correct, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(a.compressed.histogram.wrong, (std::vector<int64_t>{0, 2, 0}));
}

TEST(ErrorAnalysis, HistogramEdgesHalfAndOne) {
  // A tie (0.5) is the lowest bin; a saturated softmax (1.0) the last, not one past it.
  const std::vector<ExamplePrediction> rows = {row(0, 0, {0, 0}), row(1, 1, {0, 200})};
  const ErrorAnalysis a = analyze_errors(rows, rows, {10, 5});
  EXPECT_EQ(a.reference.histogram.all, (std::vector<int64_t>{1, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
  // Three classes: bins start at 1/3.
  const std::vector<ExamplePrediction> three = {{0, 2, 2, {0, 0, 1}}};
  EXPECT_NEAR(analyze_errors(three, three).reference.histogram.lo, 1.0 / 3.0, 1e-15);
}

TEST(ErrorAnalysis, CorrelationOfClassOneProbabilities) {
  const ErrorAnalysis a = hand_case();
  // p1 reference .75 .25 .10 .75 .90 and compressed .90 .75 .90 .75 .75: deviations from the means
  // (.55, .81) give Sxy = -.0375, Sxx = .495, Syy = .027.
  EXPECT_NEAR(a.pearson_p1, -0.0375 / std::sqrt(0.495 * 0.027), kTol);
  // Average ranks 3.5 2 1 3.5 5 and 4.5 2 4.5 2 2: Sxy = -3.75, Sxx = 9.5, Syy = 7.5.
  EXPECT_NEAR(a.spearman_p1, -3.75 / std::sqrt(9.5 * 7.5), 1e-12);
}

TEST(ErrorAnalysis, LogitDriftAndKl) {
  const ErrorAnalysis a = hand_case();
  const double ln3 = std::log(3.0), ln9 = std::log(9.0);
  // |delta| sums per example: ln3, 2 ln3, 2 ln9, 0, ln3 = 8 ln3 over 10 logits.
  EXPECT_NEAR(a.drift.mean_abs_logit_delta, 0.8 * ln3, kTol);
  EXPECT_NEAR(a.drift.max_abs_logit_delta, ln9, kTol);
  const double kl[] = {0.25 * std::log(2.5) + 0.75 * std::log(0.75 / 0.9), 0.5 * ln3, 0.8 * ln9, 0.0,
                       0.1 * std::log(0.4) + 0.9 * std::log(1.2)};
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(a.examples[static_cast<size_t>(i)].kl, kl[i], kTol) << i;
  EXPECT_NEAR(a.drift.mean_kl, (kl[0] + kl[1] + kl[2] + kl[3] + kl[4]) / 5, kTol);
  EXPECT_NEAR(a.drift.max_kl, 0.8 * ln9, kTol);
}

TEST(ErrorAnalysis, RepresentativeExamplesMostConfidentFlipsFirst) {
  const ErrorAnalysis a = hand_case(3, 5);
  auto indices = [&](const std::vector<size_t>& positions) {
    std::vector<int64_t> out;
    for (size_t p : positions) out.push_back(a.examples[p].index);
    return out;
  };
  // Both right: no flips, equal top confidence .9, so dataset order.
  EXPECT_EQ(indices(a.representative[static_cast<size_t>(Outcome::kBothRight)]), (std::vector<int64_t>{10, 14}));
  EXPECT_EQ(indices(a.representative[static_cast<size_t>(Outcome::kBothWrong)]), (std::vector<int64_t>{13}));
  EXPECT_EQ(indices(a.representative[static_cast<size_t>(Outcome::kOnlyReferenceWrong)]), (std::vector<int64_t>{12}));
  EXPECT_EQ(indices(a.representative[static_cast<size_t>(Outcome::kOnlyCompressedWrong)]), (std::vector<int64_t>{11}));
  // Flips 12 (.90) before 11 (.75).
  EXPECT_EQ(indices(a.top_flips), (std::vector<int64_t>{12, 11}));
  const ErrorAnalysis one = hand_case(3, 1);
  EXPECT_EQ(one.representative[static_cast<size_t>(Outcome::kBothRight)].size(), 1u);
  EXPECT_EQ(one.examples[one.top_flips.at(0)].index, 12);
}

TEST(ErrorAnalysis, UnlabeledKeepsAgreementAndDriftOnly) {
  std::vector<ExamplePrediction> r = reference_rows(), c = compressed_rows();
  for (auto* rows : {&r, &c})
    for (auto& p : *rows) p.label = -1;
  const ErrorAnalysis a = analyze_errors(r, c, {3, 5});
  EXPECT_FALSE(a.labeled);
  EXPECT_EQ(a.breakdown.total(), 0);
  EXPECT_TRUE(a.breakdown_by_label.empty());
  EXPECT_TRUE(a.reference.histogram.correct.empty());
  EXPECT_TRUE(std::isnan(a.reference.mean_correct));
  EXPECT_EQ(a.flips, 2);
  EXPECT_EQ(a.reference.histogram.all, (std::vector<int64_t>{0, 3, 2}));
  EXPECT_FALSE(a.examples[0].outcome.has_value());
}

TEST(ErrorAnalysis, RefusesMisalignedLists) {
  const auto r = reference_rows();
  auto c = compressed_rows();
  EXPECT_THROW(analyze_errors(r, {c.begin(), c.end() - 1}), DataError);
  c[3].index = 99;
  EXPECT_THROW(analyze_errors(r, c), DataError);
  c = compressed_rows();
  c[2].label = 0;
  EXPECT_THROW(analyze_errors(r, c), DataError);
  c = compressed_rows();
  c[0].logits = {1, 2, 3};
  EXPECT_THROW(analyze_errors(r, c), DataError);
  c = compressed_rows();
  c[0].pred = 2;
  EXPECT_THROW(analyze_errors(r, c), DataError);
  EXPECT_THROW(analyze_errors({}, {}), DataError);
  EXPECT_THROW(analyze_errors(r, compressed_rows(), {0, 5}), UsageError);
}

// Three HellaSwag items worked by hand: pred is acc_norm's choice, logits the endings' log-likelihoods.
// item | gold | reference lls, acc choice, pred_norm | compressed lls, acc choice, pred_norm
// 0    | 2    | [-4,-3,-1,-5] 2, 2                    | [-4,-3,-2,-5] 2, 1
// 1    | 0    | [-2,-1,-3,-3] 1, 0                    | [-1,-2,-3,-3] 0, 0
// 2    | 1    | [-6,-2,-2,-9] 1 (first of the tie), 1 | [-6,-2,-2,-9] 1, 2
TEST(MultipleChoiceAgreement, AccAndAccNormOfBothModelsAndTheLogLikelihoodsCorrelation) {
  const std::vector<ExamplePrediction> reference = {
      {0, 2, 2, {-4, -3, -1, -5}}, {1, 0, 0, {-2, -1, -3, -3}}, {2, 1, 1, {-6, -2, -2, -9}}};
  const std::vector<ExamplePrediction> compressed = {
      {0, 2, 1, {-4, -3, -2, -5}}, {1, 0, 0, {-1, -2, -3, -3}}, {2, 1, 2, {-6, -2, -2, -9}}};
  const MultipleChoiceAgreement m = multiple_choice_agreement(reference, compressed);
  EXPECT_DOUBLE_EQ(m.reference_acc, 2.0 / 3);   // items 0 and 2
  EXPECT_DOUBLE_EQ(m.compressed_acc, 3.0 / 3);  // all three
  EXPECT_DOUBLE_EQ(m.reference_acc_norm, 3.0 / 3);
  EXPECT_DOUBLE_EQ(m.compressed_acc_norm, 1.0 / 3);  // item 1
  EXPECT_EQ(m.acc_flips, 1);                         // item 1
  EXPECT_DOUBLE_EQ(m.acc_agreement_rate, 2.0 / 3);
  // The twelve pairs differ in three places (-1 -> -2, -2 <-> -1): numpy.corrcoef gives 0.974973.
  EXPECT_NEAR(m.loglikelihood_pearson, 0.9749729227, 1e-9);
  // acc_norm's side is analyze_errors() over the same rows: agreement on the pred_norm choices,
  // drift over the log-likelihoods (|d| 1 + 1 + 1 over 12 endings).
  const ErrorAnalysis a = analyze_errors(reference, compressed);
  EXPECT_EQ(a.flips, 2);
  EXPECT_DOUBLE_EQ(a.drift.mean_abs_logit_delta, 3.0 / 12);
  EXPECT_DOUBLE_EQ(a.drift.max_abs_logit_delta, 1.0);
  std::vector<ExamplePrediction> unlabeled = reference;
  unlabeled[1].label = -1;
  EXPECT_THROW(multiple_choice_agreement(unlabeled, unlabeled), DataError);
}

TEST(Correlation, AverageRanksAndEdgeCases) {
  EXPECT_EQ(average_ranks({3, 1, 4, 1, 5}), (std::vector<double>{3, 1.5, 4, 1.5, 5}));
  EXPECT_EQ(average_ranks({2, 2, 2}), (std::vector<double>{2, 2, 2}));
  EXPECT_NEAR(pearson_correlation({1, 2, 3}, {2, 4, 6}), 1.0, 1e-15);
  EXPECT_NEAR(pearson_correlation({1, 2, 3}, {3, 2, 1}), -1.0, 1e-15);
  // Monotone but not linear: Spearman 1, Pearson below 1.
  EXPECT_NEAR(spearman_correlation({1, 2, 3, 4}, {1, 8, 27, 64}), 1.0, 1e-15);
  EXPECT_LT(pearson_correlation({1, 2, 3, 4}, {1, 8, 27, 64}), 0.99);
  EXPECT_TRUE(std::isnan(pearson_correlation({1, 1, 1}, {1, 2, 3})));
  EXPECT_TRUE(std::isnan(pearson_correlation({1}, {1})));
  EXPECT_THROW(pearson_correlation({1, 2}, {1}), DataError);
}

}  // namespace
}  // namespace squish
