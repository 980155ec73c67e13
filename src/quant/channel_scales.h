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
// Applies s (one factor per channel, all > 0) to `input`'s producer and readers.
void apply_channel_scales(SmoothableInput& input, const std::vector<float>& s);

}  // namespace squish
