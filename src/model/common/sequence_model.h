// What the evaluation runner, bench, inspect and export need from a loaded model of any
// architecture: token ids to logits (for models with a classification head), its limits, its
// Linears, its size, the FLOPs it executes and its tensors under their HF names; the encoder or
// decoder in parts for analyses; and, where the architecture trains, the TrainableClassifier that
// fine-tuning and pruning work on. BERT, Llama and OPT implement it (model/<arch>/); everything
// outside model/ sees only this.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "io/safetensors_writer.h"
#include "model/common/embedding_table.h"
#include "model/common/forward_options.h"
#include "model/common/linear.h"
#include "model/common/linear_formats.h"
#include "model/common/parameter_groups.h"
#include "model/common/token_batch.h"

namespace squish {

struct ModelInfo {
  std::string source;           // the weights file ("random" for generated weights)
  std::string architecture;     // config.json's architectures[0]
  std::string model_type;       // "bert"
  bool has_classifier = false;
  bool has_lm_head = false;     // a causal LM: target_logprobs() works
  bool tied_lm_head = false;    // its LM head computes with the token embedding table
  bool random_head = false;     // the classification head is random (LoadOptions::random_head_if_missing)
  int64_t num_labels = 0;
  std::map<int64_t, std::string> id2label;
  std::string finetuning_task;  // config.json's, empty when not stated
  TokenLimits limits;
  int64_t hidden_size = 0, layers = 0, heads = 0, intermediate_size = 0;
  // Per-layer sizes after structured pruning; empty: every layer has `heads` / `intermediate_size`.
  std::vector<int64_t> layer_heads, layer_intermediate_sizes;
  std::string config_path;  // config.json it was read from (empty for generated weights and GGUF files)
  std::string config_text;  // that file's text; for a GGUF, the config.json transformers would write
  // What the weights file held (empty for generated weights).
  std::string weights_format;   // "safetensors", "torch-zip"
  int64_t weights_file_bytes = 0;
  int64_t stored_tensors = 0;
  std::map<std::string, int64_t> stored_dtypes;  // "F16" -> tensor count
  std::vector<std::string> unused_tensors;       // stored but not taken by the architecture
  bool squish_container = false;                 // squish's own (quantized) container, read by its plan
};

// One next-token prediction a causal LM is asked for: the log-probability of `token` at the
// position after `position` of sequence `sequence`, given what that position sees.
struct LogprobTarget {
  int64_t sequence, position;
  int32_t token;
};

// An activation only Linears read, whose every channel its producer can scale: a pre-norm block's
// norm (its weight and bias), or rows of a Linear whose outputs reach the readers through an
// elementwise op that commutes with a positive scale (SwiGLU's silu(gate)·up in `up`, OPT's ReLU).
// SmoothQuant divides the producer's channel j by s_j and multiplies column j of the readers, which
// leaves what the model computes unchanged in exact arithmetic (quant/smoothquant.h).
struct SmoothableInput {
  std::string name;                  // the producer: "model.layers.3.input_layernorm", "...mlp.up_proj"
  Tensor* norm_weight = nullptr;     // a norm producer: [C]
  Tensor* norm_bias = nullptr;       // [C], or null for an RMSNorm
  Linear* producer = nullptr;        // a Linear producer: its rows [first_row, first_row + C) (and bias)
  int64_t first_row = 0;
  std::vector<Linear*> readers;      // every Linear that reads the activation
};

class TrainableClassifier;  // model/common/trainable_classifier.h

// The classification head an encoder without one gets for fine-tuning, drawn as HF's
// from_pretrained draws a missing head.
struct NewHead {
  int64_t num_labels = 2;
  uint64_t seed = 42;
};

class SequenceModel {
 public:
  virtual ~SequenceModel() = default;
  virtual const ModelInfo& info() const = 0;
  // logits: [B, C] row-major; ConfigError for a model without a classification head. Scratch is
  // the model's own, so one forward runs at a time per object.
  virtual void forward(const TokenBatch& batch, std::vector<float>& logits, const ForwardOptions& options = {}) = 0;
  // Runs a forward for its Tap alone (calibration, GPTQ's Hessians, layer errors), computing what
  // inference computes: a classifier's whole forward; a causal LM's embeddings and layers, and its
  // final norm only where an untied head (a Linear the Tap sees the input of) reads it.
  virtual void trace(const TokenBatch& batch, const ForwardOptions& options);
  // Floating-point operations a forward of B sequences of T tokens executes.
  virtual double forward_flops(int64_t batch, int64_t tokens, LastLayerRows last_layer) const = 0;
  // Every Linear, in forward order.
  virtual std::vector<const Linear*> linears() const = 0;
  // The same, for passes that change a Linear's representation (quantization) in place.
  virtual std::vector<Linear*> mutable_linears() = 0;
  // Parameter counts by group ("embeddings", "attention", ...), in a stable order.
  virtual std::vector<std::pair<std::string, int64_t>> parameter_groups() const = 0;
  // Bytes the weights occupy in memory as squish holds them.
  virtual int64_t resident_bytes() const = 0;
  // Every tensor under its HF name, as transformers loads it (Linears dequantized).
  virtual std::vector<TensorToWrite> checkpoint_tensors(DType dtype) const = 0;
  // The same names for squish's own container: each Linear in its format (model/common/linear_formats.h).
  virtual std::vector<TensorToWrite> container_tensors() const = 0;
  // What the container records of the representations: every Linear's format and the embeddings'.
  virtual ContainerPlan container_plan() const = 0;
  // The encoder in parts, for analyses that rerun the stack from captured states (sensitivity):
  // `hidden` [B*T, H] receives the embeddings' output; run_layers applies encoder layers [first, end)
  // to it in place, every token computed (the hidden states forward() computes with kAllTokens),
  // showing `tap` (may be null) those layers' Linear inputs and outputs.
  virtual void embed(const TokenBatch& batch, AlignedVector<float>& hidden) = 0;
  virtual void run_layers(const TokenBatch& batch, AlignedVector<float>& hidden, int first, int end,
                          const Tap* tap) = 0;
  // Layer `layer` on `hidden` [B*T, H] (its input, given back unchanged), computed only as far as the
  // given rows of its output need: out [rows.size(), H] receives those rows of what run_layers would
  // leave, up to the rounding of GEMMs over fewer rows. Attention still reads every token's keys and
  // values; the rest of the layer runs on the rows alone (sensitivity compares a sample of rows). The
  // default runs the whole layer and gathers.
  virtual void run_layer_rows(const TokenBatch& batch, AlignedVector<float>& hidden, int layer,
                              std::span<const int64_t> rows, AlignedVector<float>& out);
  // A causal LM's log p(target.token | context) for each target, in double; the head runs only on
  // the rows targets name, in chunks, so [B*T, V] logits never exist at once. ConfigError for a
  // model without an LM head.
  virtual void target_logprobs(const TokenBatch& batch, const std::vector<LogprobTarget>& targets,
                               std::vector<double>& logprobs);
  // A causal LM's final norm, in place on `rows` last-layer hidden states [rows, H] from run_layers:
  // what its LM head reads. ConfigError for a model without an LM head.
  virtual void final_norm(float* hidden, int64_t rows);
  // The activations SmoothQuant may smooth, in forward order; empty for a post-norm encoder (BERT),
  // whose norms also feed the residual stream.
  virtual std::vector<SmoothableInput> smoothable_inputs() { return {}; }
  // The token embedding table, for passes that change its representation (--quantize_embeddings).
  virtual EmbeddingTable& mutable_word_embeddings() = 0;
  // The arithmetic of attention's products from now on (quantize --attention).
  virtual void set_attention_arithmetic(AttentionArithmetic a) = 0;
  virtual AttentionArithmetic attention_arithmetic() const = 0;
  // This model as a classifier to fine-tune or prune, its weights dequantized to fp32 parameters. A
  // model without a classification head gets `new_head`'s, or is a ConfigError without one. The
  // default: a ConfigError (an architecture squish does not train).
  virtual std::unique_ptr<TrainableClassifier> trainable_classifier(
      std::optional<NewHead> new_head = std::nullopt) const;

  int64_t parameter_count() const;
};

// Runs f() with the caller's `hidden` swapped in as a forward's own hidden states `own`, so nothing is
// copied, and swaps them back however f ends (run_layers and run_layer_rows of every architecture).
template <class F>
void with_hidden_swapped_in(AlignedVector<float>& hidden, AlignedVector<float>& own, F&& f) {
  std::swap(hidden, own);
  try {
    f();
  } catch (...) {
    std::swap(hidden, own);
    throw;
  }
  std::swap(hidden, own);
}

}  // namespace squish
