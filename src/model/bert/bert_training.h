// The BERT classifier's training forward and backward, as explicit layer loops over the kernels of
// kernels/training_ops.h, matmul.h and attention_training.h. The forward is the inference forward
// (bert_forward.h: post-LN, erf GELU, masked attention, tanh pooler) with dropout where HF's
// BertForSequenceClassification has it, and it keeps in BertTrainActivations what the backward
// reads. Every token of every layer is computed (the loss reads only [CLS], but the last layer's
// keys and values need every token anyway).
// Dropout draws come from core/random.h keyed by (seed, step, site, layer), so a run is the same
// bit for bit at a fixed thread count and the backward re-reads the forward's masks.
#pragma once

#include <cstdint>
#include <vector>

#include "model/bert/bert_parameters.h"
#include "model/common/token_batch.h"

namespace squish {

// Dropout rates of one step (all zero: evaluation mode, or training without dropout).
struct BertDropout {
  float hidden = 0, attention = 0, classifier = 0;
  uint64_t seed = 0;
  uint64_t step = 0;  // the optimizer step (or micro-batch) this forward belongs to
  // The place of this batch's first sequence in the step's whole batch: a rank's share of a step
  // draws the masks those sequences get in one process (masks are keyed by sequence and position).
  int64_t first_sequence = 0;
  // The config's rates.
  static BertDropout from_config(const BertConfig& c, uint64_t seed, uint64_t step);
};

// What one layer's forward keeps. M = B·T rows; H_l = NH_l·HD; FF_l the layer's FFN width.
struct BertLayerTrainActivations {
  AlignedVector<float> input;            // [M, H] the layer's input (previous output)
  AlignedVector<float> qkv;              // [M, 3·H_l]
  AlignedVector<float> probs;            // [B, NH_l, T, T] softmax before dropout
  AlignedVector<uint8_t> probs_keep;     // [B, NH_l, T, T] (empty without attention dropout)
  AlignedVector<float> context;          // [M, H_l]
  AlignedVector<uint8_t> attention_keep; // [M, H] dropout on the attention output projection
  AlignedVector<float> attention_sum;    // [M, H] input + dropout(context·Wo^T + bo): LayerNorm 1's input
  AlignedVector<float> attention_mean, attention_rstd;  // [M]
  AlignedVector<float> attention_ln;     // [M, H] LayerNorm 1's output: the FFN's input
  AlignedVector<float> ffn_pre;          // [M, FF_l] before GELU
  AlignedVector<float> ffn_act;          // [M, FF_l] after GELU
  AlignedVector<uint8_t> output_keep;    // [M, H]
  AlignedVector<float> output_sum;       // [M, H] LayerNorm 2's input
  AlignedVector<float> output_mean, output_rstd;  // [M]
};

struct BertTrainActivations {
  int64_t batch = 0, tokens = 0;
  BertDropout dropout;
  AlignedVector<float> embeddings_sum;                    // [M, H] word + position + type
  AlignedVector<float> embeddings_mean, embeddings_rstd;  // [M]
  AlignedVector<float> embeddings_ln;                     // [M, H] before dropout
  AlignedVector<uint8_t> embeddings_keep;                 // [M, H]
  std::vector<BertLayerTrainActivations> layers;
  AlignedVector<float> hidden;        // [M, H] the last layer's output
  AlignedVector<float> cls;           // [B, H]
  AlignedVector<float> pooled;        // [B, H] tanh output
  AlignedVector<uint8_t> pooled_keep; // [B, H]
  AlignedVector<float> pooled_dropped;  // [B, H] the classifier's input
  std::vector<float> logits;          // [B, C]
  std::vector<float> d_logits;        // [B, C]
  // Backward scratch.
  AlignedVector<float> d_hidden, d_tmp, d_wide, d_qkv, attention_workspace;
};

// Runs the forward on `b` with `labels` (B of them, in [0, C)) and returns the cross-entropy summed
// over them and divided by `mean_over` (0: B, this batch's mean; a rank's share of a distributed step
// passes the step's sequences); act.logits and act.d_logits are set. Checks the batch (ShapeError) and
// the labels (DataError).
float bert_train_forward(const BertParameters& p, const TokenBatch& b, const std::vector<int32_t>& labels,
                         const BertDropout& dropout, BertTrainActivations& act, int64_t mean_over = 0);
// Gradients of that loss with respect to every parameter, ACCUMULATED into `grads` (same layout as
// p.values), from the activations of the last bert_train_forward on the same batch.
void bert_backward(const BertParameters& p, const TokenBatch& b, BertTrainActivations& act, ParameterBuffer& grads);

// Floating-point operations of one forward + backward of B sequences of T tokens (multiply-adds
// count 2; the backward's two products per GEMM counted, the embedding gradient left out).
double bert_train_flops(const BertConfig& config, int64_t batch, int64_t tokens);

}  // namespace squish
