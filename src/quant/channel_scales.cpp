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

Tensor scaled_columns(const Tensor& w, const std::vector<float>& s) {
  Tensor out = w;
  const int64_t k = w.dim(1);
  for (int64_t r = 0; r < w.dim(0); ++r)
    for (int64_t j = 0; j < k; ++j) out.data()[r * k + j] *= s[static_cast<size_t>(j)];
  return out;
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
  for (Linear* reader : in.readers)
    reader->weights = dense_f32_weights(scaled_columns(fp32_weights_to_scale(*reader), s));
}

ReaderReference reader_reference(const float* x, int64_t rows, const std::vector<const Linear*>& readers) {
  ReaderReference reference;
  LinearWorkspace ws;
  for (const Linear* r : readers) {
    reference.weights.push_back(fp32_weights_to_scale(*r));
    const Linear fp32 = make_linear(r->name, r->role, r->layer, reference.weights.back(), Tensor(), r->parts);
    Tensor y({rows, r->out_features()});
    linear_apply(fp32, y.data(), x, rows, Epilogue::kNone, ws);
    for (float v : y.values) reference.norm2 += static_cast<double>(v) * v;
    reference.outputs.push_back(std::move(y));
  }
  return reference;
}

}  // namespace squish
