// AWQ (Lin et al., MLSys 2024), activation-aware weight quantization: the weights of input channels
// that see large activations matter most, and scaling such a channel up before rounding (its
// activation down by as much, which leaves the function unchanged) shrinks its relative rounding
// error. For each activation whose channels a producer can scale (SequenceModel::smoothable_inputs),
// with x̄_j the mean |x_j| over the calibration rows,
//   s_j(α) = x̄_j^α / sqrt(max_j x̄_j^α · min_j x̄_j^α),   α ∈ {0, 1/G, ..., (G−1)/G},
// each reader's W·diag(s) is quantized in the format the plan gives it and the α with the smallest
// output error Σ_readers ‖X Wᵀ − X (Q(W·diag(s))·diag(1/s))ᵀ‖² on the calibration rows is kept and
// folded in (quant/channel_scales.h); α = 0 is round-to-nearest itself, so the search never does
// worse than RTN on its own objective. The paper's second step then fits each group's clipping
// range to the (scaled) calibration inputs, awq_clip_quantize; with --rounding awq_gptq GPTQ rounds
// the scaled weights instead (its act order fits each group's range to H's diagonal).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "model/common/sequence_model.h"
#include "quant/bit_plan.h"

namespace squish {

struct AwqOptions {
  int grid = 20;            // α candidates
  int64_t max_rows = 1024;  // calibration rows an activation's search uses (an even subsample)
};

struct AwqChoice {
  std::string producer;              // the scaled activation's producer (SmoothableInput::name)
  double alpha = 0;
  double rtn_error = 0, awq_error = 0;  // Σ‖ΔY‖² / Σ‖Y‖² over its readers, at α = 0 and at the choice
};

// One activation's search: x [rows, k] the readers' common input (row-major), each reader quantized in
// its format. errors[g] is Σ_readers ‖ΔY‖² / Σ_readers ‖Y‖² at α = g / grid (errors[0]: plain rounding);
// alpha and scales are the minimum's (the first on ties; all ones at α = 0).
struct AwqSearch {
  double alpha = 0, error = 0;
  std::vector<float> scales;
  std::vector<double> errors;
};
AwqSearch awq_search(const float* x, int64_t rows, const std::vector<const Linear*>& readers,
                     const std::vector<WeightFormat>& formats, const AwqOptions& options = {});

// AWQ's clipping search (the authors' auto_clip): each row's group is rounded on its min/max range or
// on that range clamped to ±r·max|w| of the group, r = 0.95, 0.90, ..., 0.55 (the authors' 20-step
// grid down to half), whichever gives the least output error on the calibration rows,
// Σ_t (Σ_{j∈g} x_tj (w_j − q_j))² = dᵀ G_g d, G_g the group's [G, G] block of Σ_t x_t x_tᵀ (`grams`:
// [k/G, G, G] row-major, awq_group_grams); min/max on ties. Unlike the authors' code, Q and K rows are
// clipped too (their objective skips them for the softmax after; here every row keeps the output
// objective). ShapeError for a group size not dividing k or grams of another size.
struct AwqClipCount {
  int64_t groups = 0, clipped = 0;  // row groups searched, and narrowed (added to)
};
GroupQuantized awq_clip_quantize(const float* w, int64_t n, int64_t k, int bits, int64_t group_size,
                                 std::span<const double> grams, AwqClipCount* count = nullptr);

// The Gram blocks awq_clip_quantize reads, of every Linear the plan gives a grouped format, on an
// even subsample of at most options.max_rows calibration rows (the same positions for every Linear).
std::map<std::string, std::vector<double>> awq_group_grams(SequenceModel& model, std::span<const TokenBatch> batches,
                                                           const BitPlan& plan, const AwqOptions& options = {});

// Scales every smoothable input of `model` (fp32 Linears) whose readers the plan quantizes; the
// others are left as they are. Returns the choices in forward order. UsageError for a model without
// smoothable inputs (BERT).
std::vector<AwqChoice> awq_scale(SequenceModel& model, std::span<const TokenBatch> batches, const BitPlan& plan,
                                 const AwqOptions& options = {});

}  // namespace squish
