// Pruning masks over trainable parameters and global magnitude pruning (issue 11). A mask is a
// ParameterBuffer of 0/1 floats with the parameters' layout, so holding it through training is one
// loop over floats (weights, gradients and optimizer moments multiplied alike). This file chooses
// what is pruned; it is not the trainer (train/) and not the sparse file format
// (model/common/sparse_linear_weights.h), which stores whatever zeros the weights hold.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/common/parameter_buffer.h"

namespace squish {

// What global magnitude pruning may touch beyond the encoder's Linear weights (kLinearWeight with
// layer >= 0), which are always in. `biases` adds the biases of the Linears in scope (the encoder's,
// and the pooler's or classifier's when those flags are set too).
struct PruneScope {
  bool embeddings = false, layer_norms = false, biases = false, pooler = false, classifier = false;
};

// Indices of the layout's tensors in `scope`, in layout order.
std::vector<int> prunable_tensors(const ParameterLayout& layout, const PruneScope& scope);

// A mask keeping everything: 1 at every float of the layout.
ParameterBuffer full_mask(std::shared_ptr<const ParameterLayout> layout);

// Masks are applied with ParameterBuffer::apply_mask (+0.0f where the mask is 0).

// Masks the prunable weights of smallest |w| until exactly round(target · total prunable weights)
// are masked. Already masked weights count and stay masked; among survivors of equal |w| the one
// earlier in the buffer goes first, so the result depends on nothing but the values. UsageError for
// a target outside [0, 1) or below the mask's current sparsity, DataError for a NaN survivor.
void global_magnitude_prune(ParameterBuffer& mask, const ParameterBuffer& weights, const std::vector<int>& prunable,
                            double target_sparsity);

struct TensorSparsity {
  std::string name;
  int layer = -1;
  int64_t zeros = 0, total = 0;
  double sparsity() const { return total > 0 ? static_cast<double>(zeros) / static_cast<double>(total) : 0.0; }
};

// How much of the prunable tensors a mask removes, globally and per tensor (in `prunable`'s order).
struct SparsityReport {
  int64_t zeros = 0, total = 0;
  std::vector<TensorSparsity> tensors;
  double sparsity() const { return total > 0 ? static_cast<double>(zeros) / static_cast<double>(total) : 0.0; }
};
SparsityReport sparsity_report(const ParameterBuffer& mask, const std::vector<int>& prunable);

// Iterative magnitude pruning's geometric schedule: the sparsity after `round` of `rounds`,
// 1 − (1 − target)^(round / rounds), so every round removes the same fraction of the survivors.
// UsageError unless 0 <= round <= rounds, rounds >= 1 and target in [0, 1).
double imp_sparsity(double target, int round, int rounds);

}  // namespace squish
