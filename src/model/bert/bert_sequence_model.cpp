#include "model/bert/bert_sequence_model.h"

#include "core/file_util.h"
#include "model/bert/bert_checkpoint.h"
#include "model/bert/bert_config_file.h"
#include "model/bert/bert_trainable_classifier.h"

namespace squish {

void describe_bert(const BertConfig& c, bool has_classifier, ModelInfo& info) {
  info.architecture = c.architecture;
  info.model_type = "bert";
  info.has_classifier = has_classifier;
  info.num_labels = has_classifier ? c.num_labels : 0;
  info.id2label = c.id2label;
  info.finetuning_task = c.finetuning_task;
  info.limits = bert_token_limits(c);
  info.hidden_size = c.hidden_size;
  info.layers = c.num_hidden_layers;
  info.heads = c.num_attention_heads;
  info.intermediate_size = c.intermediate_size;
  info.layer_heads = c.layer_heads;
  info.layer_intermediate_sizes = c.layer_intermediate_sizes;
}

BertSequenceModel::BertSequenceModel(BertModel model, ModelInfo loaded) : model_(std::move(model)), info_(std::move(loaded)) {
  info_.source = model_.source;
  describe_bert(model_.config, model_.weights.has_classifier, info_);
  // The file as loaded, with the per-layer sizes this model has (structured pruning may have shrunk it since).
  if (!info_.config_path.empty())
    info_.config_text = config_text_with_layer_sizes(read_file(info_.config_path), info_.layer_heads,
                                                     info_.layer_intermediate_sizes, info_.config_path);
}

std::unique_ptr<TrainableClassifier> BertSequenceModel::trainable_classifier(std::optional<NewHead> new_head) const {
  BertModel m = model_;
  if (!m.weights.has_classifier && new_head) {  // an encoder: a new head as HF's from_pretrained draws it
    BertConfig& c = m.config;
    c.architecture = "BertForSequenceClassification";
    c.num_labels = new_head->num_labels;
    c.id2label.clear();
    for (int64_t i = 0; i < c.num_labels; ++i) c.id2label[i] = "LABEL_" + std::to_string(i);
    add_random_head(m, new_head->seed);
  }
  BertParameters p = bert_parameters(m);
  return std::make_unique<BertTrainableClassifier>(std::move(p), m.source, info_);
}

void BertSequenceModel::forward(const TokenBatch& batch, std::vector<float>& logits, const ForwardOptions& options) {
  bert_forward(model_, batch, activations_, logits, options);
}

// The caller's buffer is swapped in as the forward's own hidden states, so nothing is copied.
void BertSequenceModel::embed(const TokenBatch& batch, AlignedVector<float>& hidden) {
  bert_embed(model_, batch, activations_);
  std::swap(hidden, activations_.hidden);
}

void BertSequenceModel::run_layers(const TokenBatch& batch, AlignedVector<float>& hidden, int first, int end,
                                   const Tap* tap) {
  with_hidden_swapped_in(hidden, activations_.hidden,
                         [&] { bert_run_layers(model_, batch, activations_, first, end, tap); });
}

void BertSequenceModel::run_layer_rows(const TokenBatch& batch, AlignedVector<float>& hidden, int layer,
                                       std::span<const int64_t> rows, AlignedVector<float>& out) {
  with_hidden_swapped_in(hidden, activations_.hidden,
                         [&] { bert_run_layer_rows(model_, batch, activations_, layer, rows, out); });
}

double BertSequenceModel::forward_flops(int64_t batch, int64_t tokens, LastLayerRows last_layer) const {
  return bert_forward_flops(model_.config, batch, tokens, last_layer);
}

std::vector<TensorToWrite> BertSequenceModel::checkpoint_tensors(DType dtype) const {
  return bert_checkpoint_tensors(model_, dtype);
}

std::vector<TensorToWrite> BertSequenceModel::container_tensors() const { return bert_container_tensors(model_); }

ContainerPlan BertSequenceModel::container_plan() const {
  return {plan_of(linears()), std::string(model_.weights.word_embeddings.format()), model_.attention};
}

void BertSequenceModel::set_attention_arithmetic(AttentionArithmetic a) { model_.attention = a; }

}  // namespace squish
