// SmoothQuant (Xiao et al., ICML 2023): a decoder's activations carry outliers in a few channels,
// which a per-tensor activation grid cannot hold without crushing every other channel; weights are
// easy to quantize. Migrating part of each channel's range into the weights makes both quantizable.
// For each activation only Linears read whose channels a producer can scale
// (SequenceModel::smoothable_inputs), with
//   a_j = max |x_j| of the activation over the calibration tokens (padding left out),
//   w_j = max |W[:, j]| over the rows of every Linear reading it,
//   s_j = max(a_j^α / w_j^(1−α), 1e-5)  (1 where a_j or w_j is 0),
// the producer's channel j is divided by s_j and column j of each reader multiplied by s_j: the model
// computes the same function (up to fp32 rounding), with flatter activations. The paper smooths the
// inputs of the Linears after each LayerNorm; squish also smooths the feed-forward's second Linear
// (down_proj through up_proj's rows, OPT's fc2 through fc1's), whose input holds a decoder's largest
// outliers (SmolLM2: ±487 at layer 29, against ±32 before gate|up). α = 0.5 is the paper's choice
// for OPT; a larger α moves more of the range into the weights.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "model/common/sequence_model.h"

namespace squish {

struct SmoothedInput {
  std::string producer;
  float min_scale = 0, max_scale = 0;                               // over the channels
  float activation_max_before = 0, activation_max_after = 0;        // max_j a_j, max_j a_j / s_j
  float activation_spread_before = 0, activation_spread_after = 0;  // max_j a_j / median_j a_j, the outliers' size
};

struct SmoothQuantResult {
  double alpha = 0.5;
  std::vector<SmoothedInput> inputs;
};

// Smooths every smoothable input of `model` (whose Linears must still be fp32) on `batches`.
// UsageError for α outside [0, 1] or a model without pre-norm blocks (a post-norm encoder's norms
// also feed the residual stream, so they cannot absorb the scales).
SmoothQuantResult smooth_quant(SequenceModel& model, std::span<const TokenBatch> batches, double alpha);

}  // namespace squish
