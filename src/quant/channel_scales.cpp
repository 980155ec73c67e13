#include "quant/channel_scales.h"

#include <string>

#include "core/error.h"

namespace squish {

Tensor fp32_weights_to_scale(const Linear& l) {
  if (l.weights->format() != "f32")
    throw Error(ExitCode::kInternal, "channel scaling: Linear " + l.name + " is already " +
                                         std::string(l.weights->format()) + " (scale the fp32 model first)");
  return linear_dequantize(l);
}

void apply_channel_scales(SmoothableInput& in, const std::vector<float>& s) {
  const auto k = static_cast<int64_t>(s.size());
  if (in.norm_weight) {
    for (int64_t j = 0; j < k; ++j) {
      in.norm_weight->data()[j] /= s[static_cast<size_t>(j)];
      if (in.norm_bias) in.norm_bias->data()[j] /= s[static_cast<size_t>(j)];
    }
  } else {
    Linear& p = *in.producer;
    Tensor t = fp32_weights_to_scale(p);
    const int64_t cols = t.dim(1);
    for (int64_t j = 0; j < k; ++j) {
      const float inverse = 1.0f / s[static_cast<size_t>(j)];
      float* row = t.data() + (in.first_row + j) * cols;
      for (int64_t c = 0; c < cols; ++c) row[c] *= inverse;
      if (p.bias.numel() > 0) p.bias.data()[in.first_row + j] *= inverse;
    }
    p.weights = dense_f32_weights(t);
  }
  for (Linear* reader : in.readers) {
    Tensor t = fp32_weights_to_scale(*reader);
    for (int64_t r = 0; r < t.dim(0); ++r)
      for (int64_t j = 0; j < k; ++j) t.data()[r * k + j] *= s[static_cast<size_t>(j)];
    reader->weights = dense_f32_weights(t);
  }
}

}  // namespace squish
