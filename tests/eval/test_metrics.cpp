// Confusion matrix and classification metrics: a hand-worked case, edge cases (0/0, constant
// predictions, unlabeled gold), agreement with scikit-learn, and the per-task GLUE score.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.h"
#include "eval/metrics.h"

namespace squish {
namespace {

constexpr double kTol = 1e-12;

ClassificationMetrics metrics_of(const std::vector<int>& gold, const std::vector<int>& pred, int num_labels = 2) {
  return classification_metrics(confusion_matrix(gold, pred, num_labels));
}

TEST(ConfusionMatrix, CountsRowGoldColPred) {
  const ConfusionMatrix cm = confusion_matrix({0, 0, 1, 1, 1, 2}, {0, 1, 1, 1, 2, 0}, 3);
  EXPECT_EQ(cm.num_labels, 3);
  EXPECT_EQ(cm.total(), 6);
  EXPECT_EQ(cm.at(0, 0), 1);
  EXPECT_EQ(cm.at(0, 1), 1);
  EXPECT_EQ(cm.at(1, 1), 2);
  EXPECT_EQ(cm.at(1, 2), 1);
  EXPECT_EQ(cm.at(2, 0), 1);
  EXPECT_EQ(cm.at(2, 2), 0);
  EXPECT_THROW(cm.at(3, 0), std::out_of_range);
  EXPECT_THROW(cm.at(0, -1), std::out_of_range);
}

TEST(ConfusionMatrix, RejectsBadInput) {
  EXPECT_THROW(confusion_matrix({0, 1}, {0}, 2), DataError);
  EXPECT_THROW(confusion_matrix({0, 2}, {0, 1}, 2), DataError);
  EXPECT_THROW(confusion_matrix({0, 1}, {0, 5}, 2), DataError);
  EXPECT_THROW(confusion_matrix({}, {}, 0), DataError);
  try {
    confusion_matrix({0, -1}, {0, 1}, 2);
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("unlabeled"), std::string::npos) << e.what();
  }
}

TEST(ClassificationMetrics, HandComputedTenExamples) {
  //            0  1  2  3  4  5  6  7  8  9
  // gold:      1  1  1  1  0  0  0  0  0  1
  // pred:      1  1  1  0  0  0  0  1  0  0
  // TP = 3 (0,1,2)  FN = 2 (3,9)  FP = 1 (7)  TN = 4 (4,5,6,8)
  const std::vector<int> gold = {1, 1, 1, 1, 0, 0, 0, 0, 0, 1};
  const std::vector<int> pred = {1, 1, 1, 0, 0, 0, 0, 1, 0, 0};
  const ConfusionMatrix cm = confusion_matrix(gold, pred, 2);
  EXPECT_EQ(cm.at(1, 1), 3);
  EXPECT_EQ(cm.at(1, 0), 2);
  EXPECT_EQ(cm.at(0, 1), 1);
  EXPECT_EQ(cm.at(0, 0), 4);
  const ClassificationMetrics m = classification_metrics(cm);
  EXPECT_EQ(m.n, 10);
  EXPECT_NEAR(m.accuracy, 7.0 / 10.0, kTol);
  EXPECT_NEAR(m.precision, 3.0 / 4.0, kTol);  // TP / (TP + FP)
  EXPECT_NEAR(m.recall, 3.0 / 5.0, kTol);     // TP / (TP + FN)
  EXPECT_NEAR(m.f1, 2.0 / 3.0, kTol);         // 2PR/(P+R) = 0.9/1.35
  // Label 0 as positive: TP 4, FP 2, FN 1 -> F1 = 8/11; macro = (2/3 + 8/11) / 2 = 23/33.
  EXPECT_NEAR(m.macro_f1, 23.0 / 33.0, kTol);
  // (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (12 - 2) / sqrt(4*5*5*6) = 1/sqrt(6).
  EXPECT_NEAR(m.mcc, 1.0 / std::sqrt(6.0), kTol);
}

TEST(ClassificationMetrics, NoPositivePredictionsGivesZeroPrecision) {
  // sklearn (zero_division=0): P 0, R 0, F1 0, macro F1 (4/6 + 0)/2 = 1/3, MCC 0.
  const ClassificationMetrics m = metrics_of({0, 1, 0, 1}, {0, 0, 0, 0});
  EXPECT_EQ(m.precision, 0.0);
  EXPECT_EQ(m.recall, 0.0);
  EXPECT_EQ(m.f1, 0.0);
  EXPECT_NEAR(m.accuracy, 0.5, kTol);
  EXPECT_NEAR(m.macro_f1, 1.0 / 3.0, kTol);
  EXPECT_EQ(m.mcc, 0.0);
}

TEST(ClassificationMetrics, NoPositivesAtAll) {
  const ClassificationMetrics m = metrics_of({0, 0, 0}, {0, 0, 0});
  EXPECT_EQ(m.accuracy, 1.0);
  EXPECT_EQ(m.precision, 0.0);
  EXPECT_EQ(m.recall, 0.0);
  EXPECT_EQ(m.f1, 0.0);
  EXPECT_EQ(m.macro_f1, 1.0);  // only label 0 occurs, so only it is averaged (as sklearn does)
  EXPECT_EQ(m.mcc, 0.0);
}

TEST(ClassificationMetrics, AllCorrect) {
  const ClassificationMetrics m = metrics_of({0, 1, 1, 0, 1}, {0, 1, 1, 0, 1});
  EXPECT_EQ(m.accuracy, 1.0);
  EXPECT_EQ(m.precision, 1.0);
  EXPECT_EQ(m.recall, 1.0);
  EXPECT_EQ(m.f1, 1.0);
  EXPECT_EQ(m.macro_f1, 1.0);
  EXPECT_NEAR(m.mcc, 1.0, kTol);
}

TEST(ClassificationMetrics, AllWrongIsMccMinusOne) {
  const ClassificationMetrics m = metrics_of({0, 1, 1, 0}, {1, 0, 0, 1});
  EXPECT_EQ(m.accuracy, 0.0);
  EXPECT_EQ(m.f1, 0.0);
  EXPECT_NEAR(m.mcc, -1.0, kTol);
}

TEST(ClassificationMetrics, ConstantGoldAndPredMccIsZero) {
  // sklearn: P = R = F1 = macro F1 = 1, MCC 0 (undefined, reported as 0).
  const ClassificationMetrics m = metrics_of({1, 1, 1}, {1, 1, 1});
  EXPECT_EQ(m.precision, 1.0);
  EXPECT_EQ(m.f1, 1.0);
  EXPECT_EQ(m.macro_f1, 1.0);
  EXPECT_EQ(m.mcc, 0.0);
}

TEST(ClassificationMetrics, Empty) {
  const ClassificationMetrics m = metrics_of({}, {});
  EXPECT_EQ(m.n, 0);
  EXPECT_EQ(m.accuracy, 0.0);
  EXPECT_EQ(m.f1, 0.0);
  EXPECT_EQ(m.mcc, 0.0);
}

TEST(ClassificationMetrics, LargeCountsDoNotOverflow) {
  // Counts near 1e6 make the MCC denominator ~1e24, past int64.
  ConfusionMatrix cm{2, {600000, 400000, 300000, 700000}};
  const ClassificationMetrics m = classification_metrics(cm);
  // (7e5*6e5 - 4e5*3e5) / sqrt(1.1e6 * 1e6 * 1e6 * 0.9e6)
  EXPECT_NEAR(m.mcc, 3.0e11 / std::sqrt(1.1e6 * 1.0e6 * 1.0e6 * 0.9e6), 1e-12);
  EXPECT_NEAR(m.accuracy, 0.65, kTol);
}

// Reference values from scikit-learn 1.9.1, computed offline with
//   python3 -c "from sklearn.metrics import *; ..." on vectors drawn by numpy default_rng(20241125):
//   accuracy_score; precision/recall/f1_score(labels=range(k), average=None, zero_division=0)[1];
//   f1_score(average='macro', zero_division=0); matthews_corrcoef.
struct SklearnCase {
  std::vector<int> gold, pred;
  int num_labels;
  double accuracy, precision, recall, f1, macro_f1, mcc;
};

TEST(ClassificationMetrics, AgreesWithSklearn) {
  const std::vector<SklearnCase> cases = {
      {{0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1},
       {0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0},
       2, 0.85, 0.7142857142857143, 0.8333333333333334, 0.7692307692307693, 0.829059829059829, 0.6633880657639324},
      {{1, 1, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0},
       {1, 1, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0},
       2, 0.8, 0.7272727272727273, 0.7272727272727273, 0.7272727272727273, 0.784688995215311, 0.569377990430622},
      {{0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 1},
       {0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1},
       2, 0.84, 0.75, 0.75, 0.75, 0.8161764705882353, 0.6323529411764706},
      {{0, 0, 1, 1, 0, 1, 2, 2, 1, 0, 2, 2, 1, 2, 2, 0, 2, 1, 2, 1, 1, 1, 2, 1},
       {2, 0, 1, 1, 1, 1, 2, 2, 1, 0, 2, 2, 1, 2, 2, 0, 2, 1, 2, 1, 1, 1, 2, 0},
       3, 0.875, 0.9, 0.9, 0.9, 0.8380116959064328, 0.8055550377962507},
      // num_labels 3 but label 2 never occurs: sklearn's macro average leaves it out.
      {{0, 1, 1, 0}, {0, 1, 0, 0}, 3, 0.75, 1.0, 0.5, 0.6666666666666666, 0.7333333333333334, 0.5773502691896258},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    const SklearnCase& c = cases[i];
    const ClassificationMetrics m = metrics_of(c.gold, c.pred, c.num_labels);
    EXPECT_EQ(m.n, static_cast<int64_t>(c.gold.size()));
    EXPECT_NEAR(m.accuracy, c.accuracy, kTol);
    EXPECT_NEAR(m.precision, c.precision, kTol);
    EXPECT_NEAR(m.recall, c.recall, kTol);
    EXPECT_NEAR(m.f1, c.f1, kTol);
    EXPECT_NEAR(m.macro_f1, c.macro_f1, kTol);
    EXPECT_NEAR(m.mcc, c.mcc, kTol);
  }
}

TEST(TaskScore, PerTask) {
  // The hand-computed case above: accuracy 0.7, F1 2/3.
  const ClassificationMetrics m =
      metrics_of({1, 1, 1, 1, 0, 0, 0, 0, 0, 1}, {1, 1, 1, 0, 0, 0, 0, 1, 0, 0});

  const TaskScore sst2 = task_score(Task::kSst2, m);
  EXPECT_EQ(sst2.headline, "accuracy");
  EXPECT_NEAR(sst2.value, 0.7, kTol);
  ASSERT_EQ(sst2.all.size(), 1u);
  EXPECT_EQ(sst2.all[0].first, "accuracy");

  const TaskScore imdb = task_score(Task::kImdb, m);
  EXPECT_EQ(imdb.headline, "accuracy");
  EXPECT_NEAR(imdb.value, 0.7, kTol);

  const TaskScore mrpc = task_score(Task::kMrpc, m);
  EXPECT_EQ(mrpc.headline, "f1");
  EXPECT_NEAR(mrpc.value, 2.0 / 3.0, kTol);
  ASSERT_EQ(mrpc.all.size(), 3u);
  EXPECT_EQ(mrpc.all[0].first, "f1");
  EXPECT_EQ(mrpc.all[1].first, "accuracy");
  EXPECT_NEAR(mrpc.all[1].second, 0.7, kTol);
  EXPECT_EQ(mrpc.all[2].first, "combined_score");
  EXPECT_NEAR(mrpc.all[2].second, (2.0 / 3.0 + 0.7) / 2.0, kTol);  // = 41/60
}

}  // namespace
}  // namespace squish
