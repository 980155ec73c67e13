// How much each Linear's output moves when only that Linear is quantized: the fp32 model runs a few
// calibration batches and, at each Linear's input (through the Tap seam), the fp32 Linear and its
// quantized variants are applied to the same rows. The relative squared error ‖y_q − y‖² / ‖y‖²
// ranks layers for the accuracy-aware fallback (quant/fallback.h) without evaluating any subset.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>

#include "model/common/sequence_model.h"

namespace squish {

// The representations one Linear can take.
struct LinearVariants {
  Linear fp32;
  Linear dynamic;
  std::optional<Linear> static_int8;  // none when the run is dynamic only
  double dynamic_error = 0, static_error = 0;  // relative squared output error (measure_layer_errors)
};

// Fills each variant's errors. `model` must hold the fp32 Linears.
void measure_layer_errors(SequenceModel& model, std::span<const TokenBatch> batches,
                          std::map<std::string, LinearVariants>& variants);

}  // namespace squish
