// Calibration for static W8A8 through the Tap seam: the fp32 model runs the calibration batches,
// and at every Linear's input one observer (quant/observers.h) per Linear watches the values
// inference would quantize there (padding rows left out), so the ranges come from exactly the
// activations the static model will meet. Memory is the observers' bins, not the tokens seen.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>

#include "model/common/sequence_model.h"
#include "quant/observers.h"

namespace squish {

struct CalibrationResult {
  std::map<std::string, ActivationRange> input_ranges;  // by Linear name
  int64_t sequences = 0, tokens = 0;                    // real (unpadded) tokens seen
  int64_t observer_bytes = 0;                           // all observers' state together
  int qmax = 0;                                         // the grid the ranges were chosen for
};

// Observes the input of every Linear for which `include` is true over `batches`, in order, and
// chooses ranges for grids of `qmax` steps. `on_batch` (may be null) is called after each batch with
// its sequence count.
CalibrationResult calibrate(SequenceModel& model, std::span<const TokenBatch> batches, const ObserverOptions& observer,
                            int qmax, const std::function<bool(const Linear&)>& include,
                            const std::function<void(int64_t)>& on_batch = nullptr);

}  // namespace squish
