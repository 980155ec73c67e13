// A Linear layer y = x W^T + b as the model sees it: the one seam between a model and the way its
// weights are represented. A Linear knows who it is (the HF modules it came from, its role and
// layer), holds its bias in fp32 and its weights in one representation chosen at load or quantize
// time: dense fp32 packed for oneDNN today; int8 per channel, packed low-bit groups and sparse
// weights are further LinearWeights alternatives. The forward pass calls linear_apply() and
// never looks inside; size, sensitivity and export use linear_bytes() and linear_dequantize().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"
#include "io/safetensors_writer.h"
#include "kernels/epilogue.h"

namespace squish {

// What a Linear does in its block, the same words for every architecture.
enum class LinearRole {
  kAttentionQkv,  // fused query|key|value projection
  kAttentionOut,
  kFfnIn,
  kFfnOut,
  kPooler,
  kClassifier,
  kLmHead,  // a causal LM's untied output projection to the vocabulary
};
std::string_view linear_role_name(LinearRole role);

// One HF module inside a (possibly fused) Linear: its name (without any "bert." prefix) and how
// many consecutive output rows it owns.
struct LinearPart {
  std::string name;  // "encoder.layer.3.attention.self.key"
  int64_t rows;
};

// Scratch a representation may need per call (quantized inputs, integer accumulators). Owned by
// the caller's activations so repeated forwards reuse it; a dense fp32 Linear needs none.
class LinearWorkspace {
 public:
  // At least `bytes` of 64-byte aligned scratch, valid until the next call.
  void* reserve(size_t bytes);

 private:
  AlignedVector<std::byte> buffer_;
};

// The weight representation behind a Linear. Immutable after construction; shareable across threads.
class LinearWeights {
 public:
  virtual ~LinearWeights() = default;
  virtual std::string_view format() const = 0;  // a row of linear_formats(): "f32", "int8-static", ...
  virtual int64_t out_features() const = 0;
  virtual int64_t in_features() const = 0;
  // Bytes the weights occupy in memory (scales and zero points included).
  virtual int64_t bytes() const = 0;
  // The weights as fp32 [N, K]: what this representation computes with.
  virtual Tensor dequantize() const = 0;
  // y[m, N] = epilogue(x[m, K] W^T + bias)
  virtual void apply(float* y, const float* x, const float* bias, int64_t m, Epilogue epilogue,
                     LinearWorkspace& workspace) const = 0;
  // What a saved model stores for output rows [first, first + rows), one HF module of a possibly
  // fused Linear: tensors named by suffix (".weight", ".weight_scale", ...), exactly what this
  // representation computes with, so reloading re-creates it bit for bit (model/common/linear_formats.h).
  virtual std::vector<TensorToWrite> stored_rows(int64_t first, int64_t rows) const = 0;
};

struct Linear {
  std::string name;              // stable identity: "encoder.layer.3.attention.self.qkv", "classifier"
  LinearRole role = LinearRole::kClassifier;
  int layer = -1;                // encoder layer index; -1 outside the layers (pooler, classifier)
  std::vector<LinearPart> parts; // in row order; one part unless fused
  Tensor bias;                   // [N], or empty for a Linear without bias (the Llama family)
  std::shared_ptr<const LinearWeights> weights;

  int64_t out_features() const { return weights->out_features(); }
  int64_t in_features() const { return weights->in_features(); }
};

// Dense fp32 weights [N, K] packed for oneDNN; the fp32 copy is not kept (dequantize() unpacks).
std::shared_ptr<const LinearWeights> dense_f32_weights(const Tensor& weight);

// A Linear with dense fp32 weights. parts empty = one part named like the Linear.
Linear make_linear(std::string name, LinearRole role, int layer, const Tensor& weight, Tensor bias,
                   std::vector<LinearPart> parts = {});
// A Linear with weights in any representation; ShapeError when bias, parts and weights disagree.
// An empty bias Tensor: no bias (every representation takes a null bias).
Linear make_linear(std::string name, LinearRole role, int layer, std::shared_ptr<const LinearWeights> weights,
                   Tensor bias, std::vector<LinearPart> parts = {});

// y[m, N] = epilogue(x[m, K] W^T + b)
void linear_apply(const Linear& layer, float* y, const float* x, int64_t m, Epilogue epilogue,
                  LinearWorkspace& workspace);
// Resident bytes of weights and bias.
int64_t linear_bytes(const Linear& layer);
int64_t linear_parameters(const Linear& layer);
// The fp32 weights [N, K] the Linear computes with.
Tensor linear_dequantize(const Linear& layer);

}  // namespace squish
