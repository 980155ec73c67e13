// AdamW with decoupled weight decay, as torch.optim.AdamW computes it (the single-tensor CPU path
// HF Trainer uses), over a whole ParameterBuffer:
//   p ← p·(1 − lr·λ)                       (only tensors that decay: not biases, not LayerNorm)
//   m ← m + (1 − β1)(g − m);  v ← β2·v + (1 − β2)·g²
//   p ← p − lr/(1 − β1^t) · m / (sqrt(v)/sqrt(1 − β2^t) + ε)
// Bias corrections in double, element updates in fp32, as PyTorch does. An entry whose gradient
// has always been zero (a pruned weight) keeps m = v = 0 and does not move.
#pragma once

#include <cstdint>
#include <span>

#include "model/common/parameter_buffer.h"

namespace squish {

struct AdamWOptions {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0.0;  // λ
};

class AdamW {
 public:
  AdamW(std::shared_ptr<const ParameterLayout> layout, AdamWOptions options);
  // One step at learning rate `lr`.
  void step(ParameterBuffer& params, const ParameterBuffer& grads, double lr);
  int64_t steps() const { return steps_; }
  // Its moments and step count, for a checkpoint to continue the run exactly; restore() takes them
  // back (ShapeError for moments of another size).
  const ParameterBuffer& first_moment() const { return m_; }
  const ParameterBuffer& second_moment() const { return v_; }
  void restore(std::span<const float> m, std::span<const float> v, int64_t steps);

 private:
  AdamWOptions options_;
  ParameterBuffer m_, v_;
  int64_t steps_ = 0;
};

}  // namespace squish
