// Tap: the one seam through which other features observe a forward pass, or replace an
// activation in it (llama.cpp's per-tensor callback). Calibration observers, GPTQ's Hessians,
// fake-quant references and error analysis all hang here (sensitivity reruns layers from captured
// states instead: SequenceModel::embed / run_layers). A Tap never changes which rows a
// forward computes (that is ForwardOptions' job), so what it sees is what inference computes; a
// forward given no Tap pays one null check per site.
#pragma once

#include <cstdint>
#include <functional>

namespace squish {

struct Linear;

enum class TapSite {
  kEmbeddings,   // [rows, H] the input of layer 0 (BERT's after its embeddings' LayerNorm); layer = -1
  kLinearInput,  // the input of `linear`, just before it is applied
  kLayerOutput,  // [rows, H] a layer's output (post-LN: after its last LayerNorm; pre-norm: the residual stream)
  // [B, C] a classification head's output; layer = -1. A causal LM never materialises its [B·T, V]
  // logits (SequenceModel::target_logprobs computes the targets' log-probabilities in chunks), so it
  // shows none: its head's input is an untied lm_head's kLinearInput.
  kLogits,
};

struct TapPoint {
  TapSite site;
  int layer;                      // encoder or decoder layer, -1 outside the layers
  const Linear* linear = nullptr; // kLinearInput only: the Linear about to read this activation
};

// One activation of one batch. Rows are tokens of sequences, `row_tokens` per sequence: T for
// whole layers, 1 where only each sequence's first token ([CLS]) is computed (the last layer of
// a classifier, the pooler and classifier inputs). Padding rows (token >= lengths[sequence]) are
// included; observers skip them with valid_row().
struct TapView {
  const float* data;
  float* mutable_data;            // == data in Tap::Mode::kReplace, null when observing
  int64_t rows, cols;
  int64_t batch, row_tokens;
  const int32_t* lengths;         // [batch]

  bool valid_row(int64_t r) const { return r % row_tokens < lengths[r / row_tokens]; }
};

struct Tap {
  enum class Mode {
    kObserve,  // read-only views; nothing is copied
    kReplace,  // views may be written; a Linear's input is copied first so only that Linear sees the change
  };
  Mode mode = Mode::kObserve;
  std::function<void(const TapPoint& point, const TapView& view)> fn;
};

}  // namespace squish
