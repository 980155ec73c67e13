// A BERT classifier's structures (model/common/structures.h): what a head's and an FFN neuron's
// parameters are, their scores, and the smaller model without the ones structured pruning removes,
// whose matrices physically lose those rows and columns (so it runs faster on the ordinary dense
// kernels; its config records the per-layer sizes, config.json "squish_layer_sizes").
//
// A structure is every parameter its removal deletes:
//   head h of layer l:   its HD rows of each of Q, K and V (weights and biases) and its HD columns of
//                        the attention output (rows h·HD.. of each part; columns h·HD..);
//   neuron j of layer l: row j of the intermediate Linear (weight and bias) and column j of the output.
// Removing a head is exactly zeroing its attention-output columns; removing a neuron, zeroing its
// output column (the remaining biases are the model's own).
#pragma once

#include "model/bert/bert_parameters.h"
#include "model/bert/bert_weights.h"
#include "model/common/structures.h"

namespace squish {

// Zero scores, one a head and one a neuron of every layer of `c`.
StructureScores zero_scores(const BertConfig& c);

// Magnitude: a structure's score is the L2 norm of all its parameters (Linears dequantized).
StructureScores magnitude_scores(const BertModel& model);

// First-order (Taylor) importance of one batch, added to `scores`: |Σ_{i∈structure} w_i·g_i|, the
// estimated change of the loss when the structure is zeroed (Molchanov et al. 2019; for a head, the
// quantity Michel et al. 2019 measure through a head gate). `grads` has p.values' layout. Empty
// `scores` are first sized from p.config; sizes that disagree with it are a ShapeError.
void add_first_order_scores(StructureScores& scores, const BertParameters& p, const ParameterBuffer& grads);

// A new model holding only the kept heads and neurons: its config has the per-layer sizes, the
// Linears that lose rows or columns are dense fp32 (the rest, and every other tensor, are shared or
// copied as they are). ShapeError when `keep` does not fit the model (layer count, an empty list,
// indices out of range, repeated or not ascending).
BertModel shrink_bert(const BertModel& model, const StructureKeep& keep);

}  // namespace squish
