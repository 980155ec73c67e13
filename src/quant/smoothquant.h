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
//
// `auto` chooses each activation's own α, as Intel Neural Compressor's alpha="auto" does: among
// α = 1/G, 2/G, ..., 1 and no smoothing at all, the one whose readers, quantized as the run will
// quantize them (int8 weights per output channel; activations on the u8 grid of their calibrated
// min/max after scaling, or per row when dynamic), reproduce their fp32 outputs best on an even
// subsample of the calibration rows. No smoothing is a candidate, so on that objective auto never
// does worse than leaving an activation alone.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "model/common/sequence_model.h"
#include "quant/quantize_model.h"

namespace squish {

struct SmoothedInput {
  std::string producer;
  double alpha = 0;      // the α applied to this activation (auto chooses one per activation)
  bool smoothed = true;  // false: auto found no α better than leaving it alone (every scale 1)
  double output_error_unsmoothed = 0, output_error = 0;  // auto: Σ‖ΔY‖² / Σ‖Y‖² of its readers, alone and as applied
  float min_scale = 0, max_scale = 0;                               // over the channels
  float activation_max_before = 0, activation_max_after = 0;        // max_j a_j, max_j a_j / s_j
  float activation_spread_before = 0, activation_spread_after = 0;  // max_j a_j / median_j a_j, the outliers' size
};

struct SmoothQuantResult {
  double alpha = 0.5;      // the one α given; unused when automatic
  bool automatic = false;  // --smoothquant auto: each input's alpha is its own
  std::vector<SmoothedInput> inputs;
};

// How auto scores a candidate: the readers' int8 quantization the run will apply.
struct SmoothQuantAutoOptions {
  bool static_activations = true;  // --mode static (one calibrated grid) or dynamic (per row)
  QuantizeOptions int8;            // the run's weight granularity and activations' top code
  int grid = 20;                   // α candidates: 1/grid .. 1
  int64_t max_rows = 1024;         // calibration rows a search scores (an even subsample)
};

// Smooths every smoothable input of `model` (whose Linears must still be fp32) on `batches`.
// UsageError for α outside [0, 1] or a model without pre-norm blocks (a post-norm encoder's norms
// also feed the residual stream, so they cannot absorb the scales).
SmoothQuantResult smooth_quant(SequenceModel& model, std::span<const TokenBatch> batches, double alpha);
// --smoothquant auto: the same, each input with the α its search chose (or none).
SmoothQuantResult smooth_quant_auto(SequenceModel& model, std::span<const TokenBatch> batches,
                                    const SmoothQuantAutoOptions& options);

}  // namespace squish
