// Accuracy-aware fallback (--max_drop): Optimum and ONNX Runtime quantize every layer or none, and
// Intel Neural Compressor searches by trial. squish ranks the Linears once by their measured output
// error (quant/layer_error.h) and walks that ranking: the worst static Linear goes back to dynamic,
// re-scored on a held-out slice of the train split, until the metric is within `max_drop` points
// of fp32; if every Linear is dynamic and that is still not enough, the worst dynamic ones go back
// to fp32 the same way. Each step is one evaluation, so at most 2 × Linears evaluations, usually few.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "model/common/sequence_model.h"
#include "quant/layer_error.h"

namespace squish {

struct FallbackStep {
  std::string linear, from, to;  // formats
  double metric = 0;             // held-out metric after the step
};

struct FallbackResult {
  double fp32_metric = 0, start_metric = 0, final_metric = 0;  // held-out task metric in [0, 1]
  double max_drop_points = 0;
  std::vector<FallbackStep> steps;
  bool met = false;  // final_metric within max_drop points of fp32
};

// `model` holds the quantized Linears to start from (each a variant in `variants`); on return it
// holds the plan found. `metric` scores a model on the held-out slice; `fp32_metric` is the fp32
// model's score there, measured by the caller before anything was quantized.
FallbackResult accuracy_fallback(SequenceModel& model, const std::map<std::string, LinearVariants>& variants,
                                 double max_drop_points, double fp32_metric,
                                 const std::function<double(SequenceModel&)>& metric);

}  // namespace squish
