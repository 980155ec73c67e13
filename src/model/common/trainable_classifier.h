// A classifier squish can fine-tune and prune, whatever its architecture: its trainable parameters
// as one flat buffer (model/common/parameter_buffer.h), a training forward with dropout and a
// backward over them, its structures (attention heads, feed-forward neurons) for structured
// pruning, and the inference model its current parameters make. train/, prune/ and the training and
// pruning pipelines in eval/ see only this; BERT implements it (model/bert/bert_trainable_classifier.h),
// and a loaded model hands one out through SequenceModel::trainable_classifier.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "model/common/parameter_buffer.h"
#include "model/common/sequence_model.h"
#include "model/common/structures.h"
#include "model/common/token_batch.h"

namespace squish {

// Dropout of one training forward. Draws are keyed by (seed, step, site, layer, sequence, position)
// (core/random.h), so a run is the same bit for bit at a fixed thread count and the backward re-reads
// the forward's masks.
struct TrainingDropout {
  bool enabled = false;  // the config's rates; false: none (evaluation mode, or training without dropout)
  uint64_t seed = 0;
  uint64_t step = 0;  // the optimizer step (or micro-batch) this forward belongs to
  // The place of this batch's first sequence in the step's whole batch: a rank's share of a step
  // draws the masks those sequences get in one process.
  int64_t first_sequence = 0;
};

class TrainableClassifier {
 public:
  virtual ~TrainableClassifier() = default;
  virtual std::unique_ptr<TrainableClassifier> clone() const = 0;

  // Every trainable float (embeddings, layers, head), one buffer; gradients share its layout.
  virtual ParameterBuffer& parameters() = 0;
  virtual const ParameterBuffer& parameters() const = 0;
  virtual int64_t num_labels() const = 0;

  // The forward on `batch` with `labels` (one per sequence, in [0, num_labels)), returning the
  // cross-entropy summed over them and divided by `mean_over` (0: the batch's size; a rank's share of
  // a distributed step passes the step's sequences). Keeps what backward reads. ShapeError for a
  // batch the model cannot take, DataError for a label out of range.
  virtual double train_forward(const TokenBatch& batch, const std::vector<int32_t>& labels,
                               const TrainingDropout& dropout, int64_t mean_over = 0) = 0;
  // Gradients of the last train_forward's loss on the same batch, ACCUMULATED into `grads`.
  virtual void backward(const TokenBatch& batch, ParameterBuffer& grads) = 0;
  // Floating-point operations of one forward and backward of `batch` sequences of `tokens` tokens.
  virtual double train_flops(int64_t batch, int64_t tokens) const = 0;

  // The model of the current parameters, for evaluation and saving (every Linear dense fp32).
  virtual std::unique_ptr<SequenceModel> inference_model() const = 0;

  // Structured pruning. Zero scores sized like the model: one a head and one a neuron of every layer.
  virtual StructureScores zero_scores() const = 0;
  // A structure's score is the L2 norm of all its parameters.
  virtual StructureScores magnitude_scores() const = 0;
  // First-order (Taylor) importance of one batch's gradient (parameters()' layout), added to `scores`:
  // |Σ_{i∈structure} w_i·g_i| (Molchanov et al. 2019; Michel et al. 2019's head gate). Empty `scores`
  // are first sized; scores of another shape or a buffer of another size are a ShapeError.
  virtual void add_first_order_scores(StructureScores& scores, const ParameterBuffer& grads) const = 0;
  // The width of one attention head (what a head's removal takes from the attention output's input).
  virtual int64_t head_size() const = 0;
  // A new model holding only the kept heads and neurons, their Linears physically smaller. ShapeError
  // when `keep` does not fit the model.
  virtual std::unique_ptr<TrainableClassifier> shrink(const StructureKeep& keep) const = 0;
};

}  // namespace squish
