// Structured pruning of a BERT classifier: scoring whole attention heads and FFN neurons, choosing
// which to remove, and building the smaller model whose matrices physically lose those rows and
// columns (so it runs faster on the ordinary dense kernels; its config records the per-layer sizes,
// config.json "squish_layer_sizes"). Unstructured masks and the IMP schedule are not here.
//
// A structure is every parameter its removal deletes:
//   head h of layer l:   its HD rows of each of Q, K and V (weights and biases) and its HD columns of
//                        the attention output (rows h·HD.. of each part; columns h·HD..);
//   neuron j of layer l: row j of the intermediate Linear (weight and bias) and column j of the output.
// Removing a head is exactly zeroing its attention-output columns; removing a neuron, zeroing its
// output column (the remaining biases are the model's own).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/bert/bert_parameters.h"
#include "model/bert/bert_weights.h"

namespace squish {

enum class Structure { kHeads, kNeurons };

// Importance per structure, higher = more important.
struct StructureScores {
  std::vector<std::vector<double>> heads;    // L × NH_l
  std::vector<std::vector<double>> neurons;  // L × FF_l
};

// What survives: per layer, the kept head indices and kept neuron indices, ascending.
struct StructureKeep {
  std::vector<std::vector<int64_t>> heads;    // L lists, each non-empty
  std::vector<std::vector<int64_t>> neurons;  // L lists, each non-empty
};

// Zero scores, one a head and one a neuron of every layer of `c`.
StructureScores zero_scores(const BertConfig& c);
// Every score, heads of every layer then neurons of every layer: the form processes exchange.
std::vector<double> flat_scores(const StructureScores& scores);
// Adds values in flat_scores()' order to `scores`, element by element; a ShapeError when the count differs.
void add_flat_scores(StructureScores& scores, std::span<const double> values);

// Magnitude: a structure's score is the L2 norm of all its parameters (Linears dequantized).
StructureScores magnitude_scores(const BertModel& model);

// First-order (Taylor) importance of one batch, added to `scores`: |Σ_{i∈structure} w_i·g_i|, the
// estimated change of the loss when the structure is zeroed (Molchanov et al. 2019; for a head, the
// quantity Michel et al. 2019 measure through a head gate). `grads` has p.values' layout. Empty
// `scores` are first sized from p.config; sizes that disagree with it are a ShapeError.
void add_first_order_scores(StructureScores& scores, const BertParameters& p, const ParameterBuffer& grads);

// Removes round(fraction · total) heads (or neurons) over all layers, lowest score first, after each
// layer's scores are divided by their L2 norm (Michel et al. 2019: layers' scales differ); equal
// normalised scores go in (layer, index) order. A layer's last head or neuron is never removed, so at
// most total − L go. The other structure is kept whole. UsageError unless fraction is in [0, 1].
// With `multiple` > 1 each layer then keeps a multiple of it (its count rounded to the nearest, at
// least `multiple`): the highest-scored removed ones come back, or the lowest-scored kept ones go.
StructureKeep select_structures(const StructureScores& scores, double fraction, Structure which,
                                int64_t multiple = 1);

// Pruned widths the 2- and 4-bit group formats can quantize: every Linear that reads a pruned
// dimension (the attention output reads heads × head size, the FFN output the neurons) keeps an input
// width that kWidthGranule divides, the formats' default group (lowbit_scheme.h: g64).
inline constexpr int64_t kWidthGranule = 64;
// The count of heads (head_size: their width) or neurons (1) a layer keeps a multiple of.
int64_t structure_multiple(Structure which, int64_t head_size);

// Every head and neuron of `config`'s layers.
StructureKeep keep_everything(const BertConfig& config);

// A new model holding only the kept heads and neurons: its config has the per-layer sizes, the
// Linears that lose rows or columns are dense fp32 (the rest, and every other tensor, are shared or
// copied as they are). ShapeError when `keep` does not fit the model (layer count, an empty list,
// indices out of range, repeated or not ascending).
BertModel shrink_bert(const BertModel& model, const StructureKeep& keep);

}  // namespace squish
