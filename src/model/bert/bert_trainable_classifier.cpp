#include "model/bert/bert_trainable_classifier.h"

#include <utility>

#include "model/bert/bert_sequence_model.h"
#include "model/bert/bert_structures.h"

namespace squish {

BertTrainableClassifier::BertTrainableClassifier(BertParameters p, std::string source, ModelInfo loaded)
    : p_(std::move(p)), source_(std::move(source)), loaded_(std::move(loaded)) {}

std::unique_ptr<TrainableClassifier> BertTrainableClassifier::clone() const {
  return std::make_unique<BertTrainableClassifier>(p_, source_, loaded_);
}

double BertTrainableClassifier::train_forward(const TokenBatch& batch, const std::vector<int32_t>& labels,
                                              const TrainingDropout& dropout, int64_t mean_over) {
  BertDropout rates = dropout.enabled ? BertDropout::from_config(p_.config, dropout.seed, dropout.step) : BertDropout{};
  rates.first_sequence = dropout.first_sequence;
  return bert_train_forward(p_, batch, labels, rates, act_, mean_over);
}

void BertTrainableClassifier::backward(const TokenBatch& batch, ParameterBuffer& grads) {
  bert_backward(p_, batch, act_, grads);
}

double BertTrainableClassifier::train_flops(int64_t batch, int64_t tokens) const {
  return bert_train_flops(p_.config, batch, tokens);
}

std::unique_ptr<SequenceModel> BertTrainableClassifier::inference_model() const {
  return std::make_unique<BertSequenceModel>(bert_model(p_, source_), loaded_);
}

StructureScores BertTrainableClassifier::zero_scores() const { return squish::zero_scores(p_.config); }

StructureScores BertTrainableClassifier::magnitude_scores() const {
  return squish::magnitude_scores(bert_model(p_, source_));
}

void BertTrainableClassifier::add_first_order_scores(StructureScores& scores, const ParameterBuffer& grads) const {
  squish::add_first_order_scores(scores, p_, grads);
}

std::unique_ptr<TrainableClassifier> BertTrainableClassifier::shrink(const StructureKeep& keep) const {
  return std::make_unique<BertTrainableClassifier>(squish::bert_parameters(shrink_bert(bert_model(p_, source_), keep)),
                                                   source_, loaded_);
}

}  // namespace squish
