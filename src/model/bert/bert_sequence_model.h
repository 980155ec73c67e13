// BERT behind the architecture-neutral SequenceModel interface: the weights, the scratch of its
// forward and what loading found.
#pragma once

#include "model/bert/bert_forward.h"
#include "model/common/sequence_model.h"

namespace squish {

// The architecture's part of ModelInfo, from the config (what loading found is left as it is).
void describe_bert(const BertConfig& config, bool has_classifier, ModelInfo& info);

class BertSequenceModel final : public SequenceModel {
 public:
  BertSequenceModel(BertModel model, ModelInfo loaded);

  const ModelInfo& info() const override { return info_; }
  void forward(const TokenBatch& batch, std::vector<float>& logits, const ForwardOptions& options) override;
  double forward_flops(int64_t batch, int64_t tokens, LastLayerRows last_layer) const override;
  std::vector<const Linear*> linears() const override { return model_.linears(); }
  std::vector<Linear*> mutable_linears() override { return model_.mutable_linears(); }
  std::vector<std::pair<std::string, int64_t>> parameter_groups() const override { return model_.parameter_groups(); }
  int64_t resident_bytes() const override { return model_.resident_bytes(); }
  std::vector<TensorToWrite> checkpoint_tensors(DType dtype) const override;
  std::vector<TensorToWrite> container_tensors() const override;
  ContainerPlan container_plan() const override;
  void set_attention_arithmetic(AttentionArithmetic a) override;
  AttentionArithmetic attention_arithmetic() const override { return model_.attention; }
  void embed(const TokenBatch& batch, AlignedVector<float>& hidden) override;
  void run_layers(const TokenBatch& batch, AlignedVector<float>& hidden, int first, int end, const Tap* tap) override;
  void run_layer_rows(const TokenBatch& batch, AlignedVector<float>& hidden, int layer, std::span<const int64_t> rows,
                      AlignedVector<float>& out) override;
  EmbeddingTable& mutable_word_embeddings() override { return model_.weights.word_embeddings; }
  std::unique_ptr<TrainableClassifier> trainable_classifier(std::optional<NewHead> new_head) const override;

  const BertModel& model() const { return model_; }

 private:
  BertModel model_;
  ModelInfo info_;
  BertActivations activations_;
};

}  // namespace squish
