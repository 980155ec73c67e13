// bert_backward against central differences of bert_train_forward's loss, for every parameter
// tensor of the tiny two-layer classifier (so every kernel's backward inside a full encoder block,
// the embeddings, pooler and classifier), with dropout off and on.
//
// Error model. The loss L is computed here in double from the forward's fp32 logits, whose own
// error is δ ≈ 5e-7 (PyTorch's fp32 run of this model is 4.9e-7 from its fp64 run; squish's is of
// the same order). Rounding does not vary smoothly with a weight, so the two evaluations of a
// central difference carry independent errors of up to δ each and |dL/dlogit| <= 1:
//   |fd − g| <= δ/h  (rounding)  +  h²·|L'''|/6  (truncation).
// With h = kStep the rounding term is 5e-7/4e-3 ≈ 1.3e-4; the truncation term, measured by halving
// h, stays below 1% of |g| on these weights (N(0, 0.2)). The bound used is 3× the rounding term
// plus 3% of |g|: a sign error, a missing factor or a dropped term of the backward is far outside
// it. Measured: the worst entry uses 11% of the bound without dropout, 5% with; scaling every
// gradient by 1.05 fails 33 of the 41 tensors.
// Dropout on: the masks are a pure function of (seed, step, site, layer), not of the weights, so
// with them fixed the loss is as smooth as without and the same bound holds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "model/bert/bert_training.h"
#include "tiny_train_fixture.h"

namespace squish {
namespace {

constexpr float kStep = 4e-3f;
constexpr double kLogitError = 5e-7;
constexpr double kAbsoluteTolerance = 3 * kLogitError / kStep;
constexpr double kRelativeTolerance = 3e-2;
constexpr int kEntriesPerTensor = 8;

// Mean cross-entropy in double from the forward's logits.
double loss_in_double(const BertParameters& p, const TokenBatch& b, const std::vector<int32_t>& labels,
                      const BertDropout& dropout, BertTrainActivations& act) {
  bert_train_forward(p, b, labels, dropout, act);
  const auto classes = static_cast<int64_t>(act.logits.size()) / b.batch;
  double sum = 0;
  for (int64_t i = 0; i < b.batch; ++i) {
    const float* z = act.logits.data() + i * classes;
    const double top = *std::max_element(z, z + classes);
    double exps = 0;
    for (int64_t c = 0; c < classes; ++c) exps += std::exp(static_cast<double>(z[c]) - top);
    sum += top + std::log(exps) - z[labels[static_cast<size_t>(i)]];
  }
  return sum / static_cast<double>(b.batch);
}

// The entries of a tensor to check: the 4 largest |gradients| (where an error would be largest)
// and 4 spread evenly (rows the batch never reaches included: their gradient must be exactly 0).
std::vector<int64_t> entries_to_check(const float* grad, int64_t n) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  const int64_t largest = std::min<int64_t>(kEntriesPerTensor / 2, n);
  std::partial_sort(order.begin(), order.begin() + largest, order.end(),
                    [&](int64_t a, int64_t b) { return std::fabs(grad[a]) > std::fabs(grad[b]); });
  std::vector<int64_t> out(order.begin(), order.begin() + largest);
  for (int k = 0; k < kEntriesPerTensor / 2; ++k) {
    const int64_t i = (2 * k + 1) * n / kEntriesPerTensor;
    if (std::find(out.begin(), out.end(), i) == out.end()) out.push_back(i);
  }
  return out;
}

void expect_backward_matches_differences(const BertDropout& dropout) {
  BertParameters p = testing_support::tiny_train_parameters();
  std::vector<std::vector<int32_t>> labels;
  const std::vector<TokenBatch> batches = testing_support::golden_batches(labels);
  const TokenBatch& batch = batches[0];  // pairs and padding
  BertTrainActivations act;
  bert_train_forward(p, batch, labels[0], dropout, act);
  ParameterBuffer grads(p.values.shared_layout());
  bert_backward(p, batch, act, grads);

  const ParameterLayout& layout = p.values.layout();
  for (int t = 0; t < static_cast<int>(layout.tensors().size()); ++t) {
    const ParameterTensor& info = layout.tensor(t);
    const float* g = grads.data(t);
    for (int64_t i : entries_to_check(g, info.numel())) {
      float& w = p.values.data(t)[i];
      const float original = w, plus = original + kStep, minus = original - kStep;
      w = plus;
      const double up = loss_in_double(p, batch, labels[0], dropout, act);
      w = minus;
      const double down = loss_in_double(p, batch, labels[0], dropout, act);
      w = original;
      const double fd = (up - down) / (static_cast<double>(plus) - static_cast<double>(minus));
      const double tol = kAbsoluteTolerance + kRelativeTolerance * std::fabs(fd);
      EXPECT_NEAR(g[i], fd, tol) << info.name << "[" << i << "]";
    }
  }
}

TEST(WholeModelGradients, BackwardMatchesCentralDifferencesWithoutDropout) {
  expect_backward_matches_differences(BertDropout{});
}

TEST(WholeModelGradients, BackwardMatchesCentralDifferencesWithDropout) {
  const BertDropout dropout{.hidden = 0.1f, .attention = 0.1f, .classifier = 0.1f, .seed = 11, .step = 3};
  expect_backward_matches_differences(dropout);
  // Not vacuous: these masks change the loss.
  BertParameters p = testing_support::tiny_train_parameters();
  std::vector<std::vector<int32_t>> labels;
  const std::vector<TokenBatch> batches = testing_support::golden_batches(labels);
  BertTrainActivations act;
  EXPECT_GT(std::fabs(loss_in_double(p, batches[0], labels[0], dropout, act) -
                      loss_in_double(p, batches[0], labels[0], BertDropout{}, act)),
            1e-3);
}

}  // namespace
}  // namespace squish
