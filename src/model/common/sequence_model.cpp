#include "model/common/sequence_model.h"

#include "core/error.h"
#include "model/common/trainable_classifier.h"

namespace squish {

void SequenceModel::target_logprobs(const TokenBatch&, const std::vector<LogprobTarget>&, std::vector<double>&) {
  throw ConfigError(info().source + ": architecture " + info().architecture +
                    " has no language-modelling head (a causal LM such as LlamaForCausalLM has)");
}

void SequenceModel::final_norm(float*, int64_t) {
  throw ConfigError(info().source + ": architecture " + info().architecture +
                    " has no language-modelling head, so no final norm before one");
}

void SequenceModel::trace(const TokenBatch& batch, const ForwardOptions& options) {
  std::vector<float> logits;
  forward(batch, logits, options);
}

void SequenceModel::run_layer_rows(const TokenBatch& batch, AlignedVector<float>& hidden, int layer,
                                   std::span<const int64_t> rows, AlignedVector<float>& out) {
  AlignedVector<float> whole = hidden;
  run_layers(batch, whole, layer, layer + 1, nullptr);
  gather_rows(whole.data(), info().hidden_size, rows, out);
}

std::unique_ptr<TrainableClassifier> SequenceModel::trainable_classifier(std::optional<NewHead>) const {
  throw ConfigError(info().source + ": architecture " + info().architecture +
                    " has no training forward in squish (fine-tuning and pruning take BERT classifiers)");
}

int64_t SequenceModel::parameter_count() const { return total_parameters(parameter_groups()); }

}  // namespace squish
