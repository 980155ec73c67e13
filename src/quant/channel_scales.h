// Moving a per-channel scale from an activation into the Linears that read it, the one operation
// SmoothQuant and AWQ share: the activation's producer (a norm's weight and bias, or a Linear's rows
// and bias, SequenceModel::smoothable_inputs) divides channel j by s_j and every reader multiplies
// its input column j by s_j, so the model computes the same function in exact arithmetic.
#pragma once

#include <vector>

#include "core/tensor.h"
#include "model/common/sequence_model.h"

namespace squish {

// A Linear's weights as fp32 [N, K]; internal Error for one already quantized (scaling goes first).
Tensor fp32_weights_to_scale(const Linear& linear);
// w [N, K] · diag(s): column j of a reader's weights times s_j.
Tensor scaled_columns(const Tensor& w, const std::vector<float>& s);
// Applies s (one factor per channel, all > 0) to `input`'s producer and readers.
void apply_channel_scales(SmoothableInput& input, const std::vector<float>& s);

// What a search of one activation's channel scales (AWQ, SmoothQuant's auto) scores its candidates
// against: each reader's fp32 weights, its outputs on the rows x [rows, K] without its bias, and Σ‖Y‖²
// over all of them. Without the bias, as the candidates are computed: a bias shifts fp32 and quantized
// outputs alike, and with it the error would gain a cross term 2·Σ⟨ΔY, b⟩ that differs between
// candidates (OPT's Linears have biases).
struct ReaderReference {
  std::vector<Tensor> weights, outputs;
  double norm2 = 0;
};
ReaderReference reader_reference(const float* x, int64_t rows, const std::vector<const Linear*>& readers);

}  // namespace squish
