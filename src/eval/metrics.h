// Classification metrics computed from a confusion matrix, and each task's GLUE-style score.
// Definitions follow scikit-learn (zero_division=0, the multiclass MCC formula) so numbers can be checked
// against a Python run. Not here: running the model, bootstrap intervals, or writing reports.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "io/datasets/dataset.h"

namespace squish {

struct ConfusionMatrix {
  int num_labels = 0;
  std::vector<int64_t> counts;  // num_labels x num_labels, row = gold, col = pred
  // std::out_of_range for labels outside [0, num_labels).
  int64_t at(int gold, int pred) const;
  int64_t total() const;
};

// DataError when the vectors differ in length, num_labels < 1, or a label lies outside [0, num_labels)
// (gold -1 means an unlabeled example, e.g. a GLUE test split, which cannot be scored).
ConfusionMatrix confusion_matrix(const std::vector<int>& gold, const std::vector<int>& pred, int num_labels);

struct ClassificationMetrics {
  double accuracy = 0;
  // Of label 1 as the positive class (for more than two labels: label 1 against the rest). A 0/0 ratio is
  // 0, like sklearn's zero_division=0.
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  // Unweighted mean of per-label F1 over the labels that occur in gold or pred (sklearn's
  // average="macro" with its default labels), each 0/0 counted as 0.
  double macro_f1 = 0;
  // Matthews correlation (sklearn's multiclass form, the usual binary one for two labels); 0 when a
  // marginal is constant and the value is undefined.
  double mcc = 0;
  int64_t n = 0;
};

ClassificationMetrics classification_metrics(const ConfusionMatrix& cm);

// The metric(s) GLUE reports for a task: SST-2 accuracy; MRPC F1 (headline), accuracy and their mean
// ("combined_score", what the GLUE leaderboard averages and Hugging Face run_glue prints); IMDB accuracy.
// `all` lists name -> value, headline first.
struct TaskScore {
  std::string headline;
  double value = 0;
  std::vector<std::pair<std::string, double>> all;
};

TaskScore task_score(Task task, const ClassificationMetrics& m);

}  // namespace squish
