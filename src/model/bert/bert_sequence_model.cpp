#include "model/bert/bert_sequence_model.h"

#include "model/bert/bert_checkpoint.h"

namespace squish {

BertSequenceModel::BertSequenceModel(BertModel model, ModelInfo loaded) : model_(std::move(model)), info_(std::move(loaded)) {
  const BertConfig& c = model_.config;
  info_.source = model_.source;
  info_.architecture = c.architecture;
  info_.model_type = "bert";
  info_.has_classifier = model_.weights.has_classifier;
  info_.num_labels = info_.has_classifier ? c.num_labels : 0;
  info_.id2label = c.id2label;
  info_.finetuning_task = c.finetuning_task;
  info_.limits = bert_token_limits(c);
  info_.hidden_size = c.hidden_size;
  info_.layers = c.num_hidden_layers;
  info_.heads = c.num_attention_heads;
  info_.intermediate_size = c.intermediate_size;
}

void BertSequenceModel::forward(const TokenBatch& batch, std::vector<float>& logits, const ForwardOptions& options) {
  bert_forward(model_, batch, activations_, logits, options);
}

double BertSequenceModel::forward_flops(int64_t batch, int64_t tokens, LastLayerRows last_layer) const {
  return bert_forward_flops(model_.config, batch, tokens, last_layer);
}

std::vector<TensorToWrite> BertSequenceModel::checkpoint_tensors(DType dtype) const {
  return bert_checkpoint_tensors(model_, dtype);
}

}  // namespace squish
