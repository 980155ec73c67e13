// BERT's TrainableClassifier (model/common/trainable_classifier.h): its parameters
// (bert_parameters.h), the training forward and backward of bert_training.h, the structures of
// bert_structures.h, and the BertSequenceModel its parameters make.
#pragma once

#include <memory>
#include <string>

#include "model/bert/bert_parameters.h"
#include "model/bert/bert_training.h"
#include "model/common/trainable_classifier.h"

namespace squish {

class BertTrainableClassifier final : public TrainableClassifier {
 public:
  // `loaded`: the ModelInfo of the directory the weights came from (its config file, for saving).
  BertTrainableClassifier(BertParameters p, std::string source, ModelInfo loaded);

  std::unique_ptr<TrainableClassifier> clone() const override;
  ParameterBuffer& parameters() override { return p_.values; }
  const ParameterBuffer& parameters() const override { return p_.values; }
  int64_t num_labels() const override { return p_.config.num_labels; }
  double train_forward(const TokenBatch& batch, const std::vector<int32_t>& labels, const TrainingDropout& dropout,
                       int64_t mean_over) override;
  void backward(const TokenBatch& batch, ParameterBuffer& grads) override;
  double train_flops(int64_t batch, int64_t tokens) const override;
  std::unique_ptr<SequenceModel> inference_model() const override;
  StructureScores zero_scores() const override;
  StructureScores magnitude_scores() const override;
  void add_first_order_scores(StructureScores& scores, const ParameterBuffer& grads) const override;
  int64_t head_size() const override { return p_.config.head_dim(); }
  std::unique_ptr<TrainableClassifier> shrink(const StructureKeep& keep) const override;

  const BertParameters& bert_parameters() const { return p_; }

 private:
  BertParameters p_;
  std::string source_;
  ModelInfo loaded_;
  BertTrainActivations act_;
};

}  // namespace squish
