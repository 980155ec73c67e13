// Structured pruning's choice, for any architecture: which whole attention heads or FFN neurons go,
// from their scores (model/common/structures.h; the architecture scores them and rebuilds the smaller
// model, TrainableClassifier). Unstructured masks and the IMP schedule are not here.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/common/structures.h"

namespace squish {

// Every score, heads of every layer then neurons of every layer: the form processes exchange.
std::vector<double> flat_scores(const StructureScores& scores);
// Adds values in flat_scores()' order to `scores`, element by element; a ShapeError when the count differs.
void add_flat_scores(StructureScores& scores, std::span<const double> values);

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

// Every head and neuron a score table (zero_scores of a model) has.
StructureKeep keep_everything(const StructureScores& sizes);

}  // namespace squish
