#include "eval/metrics.h"

#include <cmath>
#include <stdexcept>

#include "core/error.h"

namespace squish {

namespace {

double ratio(double num, double den) { return den == 0 ? 0.0 : num / den; }

double f1_of(double tp, double fp, double fn) {
  // 2tp / (2tp + fp + fn) equals 2PR/(P+R) but stays defined (0) when precision or recall is 0/0.
  return ratio(2 * tp, 2 * tp + fp + fn);
}

}  // namespace

int64_t ConfusionMatrix::at(int gold, int pred) const {
  if (gold < 0 || gold >= num_labels || pred < 0 || pred >= num_labels) {
    throw std::out_of_range("ConfusionMatrix::at(" + std::to_string(gold) + ", " + std::to_string(pred) +
                            "): labels must lie in [0, " + std::to_string(num_labels) + ")");
  }
  return counts[static_cast<size_t>(gold) * static_cast<size_t>(num_labels) + static_cast<size_t>(pred)];
}

int64_t ConfusionMatrix::total() const {
  int64_t t = 0;
  for (const int64_t c : counts) t += c;
  return t;
}

ConfusionMatrix confusion_matrix(const std::vector<int>& gold, const std::vector<int>& pred, int num_labels) {
  if (num_labels < 1) throw DataError("confusion matrix: expected at least 1 label, found " + std::to_string(num_labels));
  if (gold.size() != pred.size()) {
    throw DataError("confusion matrix: expected as many predictions as gold labels (" + std::to_string(gold.size()) +
                    "), found " + std::to_string(pred.size()));
  }
  ConfusionMatrix cm;
  cm.num_labels = num_labels;
  cm.counts.assign(static_cast<size_t>(num_labels) * static_cast<size_t>(num_labels), 0);
  for (size_t i = 0; i < gold.size(); ++i) {
    const int g = gold[i];
    const int p = pred[i];
    if (g < 0 || g >= num_labels) {
      throw DataError("confusion matrix: example " + std::to_string(i) + ": expected a gold label in [0, " +
                      std::to_string(num_labels) + "), found " + std::to_string(g) +
                      (g == -1 ? " (unlabeled, e.g. a GLUE test split, which has no public labels)" : ""));
    }
    if (p < 0 || p >= num_labels) {
      throw DataError("confusion matrix: example " + std::to_string(i) + ": expected a predicted label in [0, " +
                      std::to_string(num_labels) + "), found " + std::to_string(p));
    }
    ++cm.counts[static_cast<size_t>(g) * static_cast<size_t>(num_labels) + static_cast<size_t>(p)];
  }
  return cm;
}

ClassificationMetrics classification_metrics(const ConfusionMatrix& cm) {
  const int k = cm.num_labels;
  std::vector<double> gold_total(static_cast<size_t>(k), 0.0), pred_total(static_cast<size_t>(k), 0.0);
  double correct = 0;
  double n = 0;
  for (int g = 0; g < k; ++g) {
    for (int p = 0; p < k; ++p) {
      const auto c = static_cast<double>(cm.at(g, p));
      gold_total[static_cast<size_t>(g)] += c;
      pred_total[static_cast<size_t>(p)] += c;
      n += c;
      if (g == p) correct += c;
    }
  }

  ClassificationMetrics m;
  m.n = cm.total();
  m.accuracy = ratio(correct, n);

  if (k >= 2) {
    const auto tp = static_cast<double>(cm.at(1, 1));
    m.precision = ratio(tp, pred_total[1]);
    m.recall = ratio(tp, gold_total[1]);
    m.f1 = f1_of(tp, pred_total[1] - tp, gold_total[1] - tp);
  }

  double f1_sum = 0;
  int present = 0;
  for (int c = 0; c < k; ++c) {
    const auto sc = static_cast<size_t>(c);
    if (gold_total[sc] == 0 && pred_total[sc] == 0) continue;
    const auto tp = static_cast<double>(cm.at(c, c));
    f1_sum += f1_of(tp, pred_total[sc] - tp, gold_total[sc] - tp);
    ++present;
  }
  m.macro_f1 = ratio(f1_sum, present);

  // sklearn's matthews_corrcoef: (c*s - t.p) / sqrt((s^2 - p.p)(s^2 - t.t)); doubles avoid int64
  // overflow of the product on large sets.
  double tp_dot = 0, pp_dot = 0, tt_dot = 0;
  for (size_t c = 0; c < static_cast<size_t>(k); ++c) {
    tp_dot += gold_total[c] * pred_total[c];
    pp_dot += pred_total[c] * pred_total[c];
    tt_dot += gold_total[c] * gold_total[c];
  }
  const double cov_yy_pred = n * n - pp_dot;
  const double cov_yy_gold = n * n - tt_dot;
  const double den = cov_yy_pred * cov_yy_gold;
  m.mcc = den == 0 ? 0.0 : (correct * n - tp_dot) / std::sqrt(den);
  return m;
}

TaskScore task_score(Task task, const ClassificationMetrics& m) {
  TaskScore s;
  switch (task) {
    case Task::kSst2:
    case Task::kImdb:
      s.headline = "accuracy";
      s.value = m.accuracy;
      s.all = {{"accuracy", m.accuracy}};
      break;
    case Task::kMrpc:
      s.headline = "f1";
      s.value = m.f1;
      s.all = {{"f1", m.f1}, {"accuracy", m.accuracy}, {"combined_score", (m.f1 + m.accuracy) / 2}};
      break;
  }
  return s;
}

}  // namespace squish
