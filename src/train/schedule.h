// HF Trainer's learning-rate schedule and gradient clipping.
//  - linear warm-up then linear decay (transformers.get_linear_schedule_with_warmup): the rate of
//    optimizer step s (0-based) is lr·s/W for s < W, then lr·max(0, (N − s)/(N − W)), so the first
//    step runs at rate 0; W = ceil(warmup_ratio · N) as TrainingArguments computes it.
//  - clipping to a global L2 norm (torch.nn.utils.clip_grad_norm_): g ← g · min(1, c/(‖g‖ + 1e-6)).
#pragma once

#include <cstdint>

#include "model/common/parameter_buffer.h"

namespace squish {

struct LinearSchedule {
  double lr = 5e-5;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  static LinearSchedule with_warmup_ratio(double lr, double warmup_ratio, int64_t total_steps);
  double rate(int64_t step) const;
};

// Scales `grads` to global norm at most max_norm and returns the norm before clipping, summed in
// double in a fixed order (the same at any thread count).
double clip_gradients(ParameterBuffer& grads, double max_norm);

}  // namespace squish
