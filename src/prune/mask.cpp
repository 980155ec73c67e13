#include "prune/mask.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace squish {
namespace {

bool in_scope(const ParameterTensor& t, const PruneScope& scope) {
  const auto linear_in_scope = [&] {
    if (t.layer >= 0) return true;
    return t.role == LinearRole::kPooler ? scope.pooler : t.role == LinearRole::kClassifier && scope.classifier;
  };
  switch (t.kind) {
    case ParameterKind::kLinearWeight: return linear_in_scope();
    case ParameterKind::kBias: return scope.biases && linear_in_scope();
    case ParameterKind::kEmbedding: return scope.embeddings;
    case ParameterKind::kLayerNorm: return scope.layer_norms;
  }
  return false;
}

void check_same_layout(const ParameterBuffer& a, const ParameterBuffer& b, const char* what) {
  if (a.floats() != b.floats())
    throw ShapeError(std::string(what) + ": the mask has " + std::to_string(b.floats()) + " floats, the parameters " +
                     std::to_string(a.floats()));
}

// |w| as an integer that orders like |w|: a non-negative float's bits compare as its value does.
uint32_t magnitude_key(float w) {
  uint32_t bits;
  std::memcpy(&bits, &w, 4);
  return bits & 0x7fffffffu;
}
constexpr uint32_t kInfinityKey = 0x7f800000u;

// Prunable tensors in buffer order, so ties go to the earlier position whatever order the caller listed them in.
std::vector<int> in_buffer_order(const ParameterLayout& layout, std::vector<int> prunable) {
  for (int i : prunable)
    if (i < 0 || i >= static_cast<int>(layout.tensors().size()))
      throw Error(ExitCode::kInternal, "prunable tensor index " + std::to_string(i) + " is not in the layout");
  std::sort(prunable.begin(), prunable.end(),
            [&](int a, int b) { return layout.tensor(a).offset < layout.tensor(b).offset; });
  if (std::adjacent_find(prunable.begin(), prunable.end()) != prunable.end())
    throw Error(ExitCode::kInternal, "a prunable tensor is listed twice");
  return prunable;
}

// Calls fn(key, mask entry) for every surviving (unmasked) prunable weight, in buffer order.
template <class Fn>
void for_each_survivor(ParameterBuffer& mask, const ParameterBuffer& weights, const std::vector<int>& ordered, Fn fn) {
  for (int i : ordered) {
    const float* w = weights.data(i);
    float* m = mask.data(i);
    const int64_t n = mask.layout().tensor(i).numel();
    for (int64_t j = 0; j < n; ++j)
      if (m[j] != 0.0f) fn(magnitude_key(w[j]), m[j]);
  }
}

// The smallest key T such that at least `need` survivors have key <= T, found by two 16-bit radix
// passes (no copy of the weights), and how many survivors lie strictly below it.
struct Threshold {
  uint32_t key;
  int64_t below;
};
Threshold select_threshold(ParameterBuffer& mask, const ParameterBuffer& weights, const std::vector<int>& ordered,
                           int64_t need) {
  std::vector<int64_t> counts(1 << 16);
  const auto pick = [&](int64_t wanted, int64_t& before) {
    for (size_t b = 0; b < counts.size(); ++b) {
      if (before + counts[b] >= wanted) return static_cast<uint32_t>(b);
      before += counts[b];
    }
    throw Error(ExitCode::kInternal, "magnitude pruning: fewer survivors than weights to remove");
  };
  for_each_survivor(mask, weights, ordered, [&](uint32_t key, float&) { ++counts[key >> 16]; });
  int64_t below = 0;
  const uint32_t high = pick(need, below);
  std::fill(counts.begin(), counts.end(), 0);
  for_each_survivor(mask, weights, ordered, [&](uint32_t key, float&) {
    if (key >> 16 == high) ++counts[key & 0xffffu];
  });
  const uint32_t low = pick(need, below);
  return {high << 16 | low, below};
}

}  // namespace

std::vector<int> prunable_tensors(const ParameterLayout& layout, const PruneScope& scope) {
  std::vector<int> out;
  for (size_t i = 0; i < layout.tensors().size(); ++i)
    if (in_scope(layout.tensors()[i], scope)) out.push_back(static_cast<int>(i));
  return out;
}

ParameterBuffer full_mask(std::shared_ptr<const ParameterLayout> layout) {
  ParameterBuffer mask(std::move(layout));
  std::fill(mask.all(), mask.all() + mask.floats(), 1.0f);
  return mask;
}

void global_magnitude_prune(ParameterBuffer& mask, const ParameterBuffer& weights, const std::vector<int>& prunable,
                            double target_sparsity) {
  if (!(target_sparsity >= 0.0 && target_sparsity < 1.0))
    throw UsageError("target sparsity " + std::to_string(target_sparsity) + ": expected a number in [0, 1)");
  check_same_layout(weights, mask, "global_magnitude_prune");
  const std::vector<int> ordered = in_buffer_order(mask.layout(), prunable);
  int64_t total = 0, masked = 0;
  for (int i : ordered) {
    const int64_t n = mask.layout().tensor(i).numel();
    total += n;
    masked += std::count(mask.data(i), mask.data(i) + n, 0.0f);
  }
  const auto goal = static_cast<int64_t>(std::llround(target_sparsity * static_cast<double>(total)));
  if (goal < masked)
    throw UsageError("target sparsity " + std::to_string(target_sparsity) + " is below the mask's current " +
                     std::to_string(static_cast<double>(masked) / static_cast<double>(total)) + " (" +
                     std::to_string(masked) + " of " + std::to_string(total) + " weights masked); masks only grow");
  for (int i : ordered) {
    const float* w = weights.data(i);
    const float* m = mask.data(i);
    for (int64_t j = 0; j < mask.layout().tensor(i).numel(); ++j)
      if (m[j] != 0.0f && magnitude_key(w[j]) > kInfinityKey)
        throw DataError("parameter " + mask.layout().tensor(i).name + ": NaN at " + std::to_string(j) +
                        ", which has no magnitude to rank");
  }
  const int64_t need = goal - masked;
  if (need == 0) return;
  const Threshold t = select_threshold(mask, weights, ordered, need);
  int64_t ties = need - t.below;  // survivors equal to the threshold, removed in buffer order
  for_each_survivor(mask, weights, ordered, [&](uint32_t key, float& m) {
    if (key < t.key || (key == t.key && ties-- > 0)) m = 0.0f;
  });
}

SparsityReport sparsity_report(const ParameterBuffer& mask, const std::vector<int>& prunable) {
  SparsityReport r;
  for (int i : prunable) {
    const ParameterTensor& t = mask.layout().tensor(i);
    TensorSparsity s{t.name, t.layer, std::count(mask.data(i), mask.data(i) + t.numel(), 0.0f), t.numel()};
    r.zeros += s.zeros;
    r.total += s.total;
    r.tensors.push_back(std::move(s));
  }
  return r;
}

double imp_sparsity(double target, int round, int rounds) {
  if (!(target >= 0.0 && target < 1.0))
    throw UsageError("target sparsity " + std::to_string(target) + ": expected a number in [0, 1)");
  if (rounds < 1 || round < 0 || round > rounds)
    throw UsageError("pruning round " + std::to_string(round) + " of " + std::to_string(rounds) +
                     ": expected 0 <= round <= rounds and rounds >= 1");
  return 1.0 - std::pow(1.0 - target, static_cast<double>(round) / static_cast<double>(rounds));
}

}  // namespace squish
