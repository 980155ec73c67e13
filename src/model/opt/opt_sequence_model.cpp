#include "model/opt/opt_sequence_model.h"

#include "core/error.h"
#include "core/file_util.h"
#include "model/opt/opt_checkpoint.h"

namespace squish {

void describe_opt(const OptConfig& c, ModelInfo& info) {
  info.architecture = c.architecture;
  info.model_type = "opt";
  info.has_lm_head = true;
  info.limits = opt_token_limits(c);
  info.hidden_size = c.hidden_size;
  info.layers = c.num_hidden_layers;
  info.heads = c.num_attention_heads;
  info.intermediate_size = c.ffn_dim;
}

OptSequenceModel::OptSequenceModel(OptModel model, ModelInfo loaded)
    : model_(std::move(model)), info_(std::move(loaded)) {
  info_.source = model_.source;
  describe_opt(model_.config, info_);
  info_.tied_lm_head = model_.config.tie_word_embeddings;
  if (info_.config_text.empty() && !info_.config_path.empty()) info_.config_text = read_file(info_.config_path);
}

void OptSequenceModel::forward(const TokenBatch&, std::vector<float>&, const ForwardOptions&) {
  throw ConfigError(info_.source + ": " + info_.architecture +
                    " is a causal language model without a sequence-classification head; score it with a "
                    "language-modelling task (--task hellaswag) or squish perplexity");
}

double OptSequenceModel::forward_flops(int64_t batch, int64_t tokens, LastLayerRows) const {
  return opt_forward_flops(model_.config, batch, tokens, batch * tokens);
}

std::vector<std::pair<std::string, int64_t>> OptSequenceModel::parameter_groups() const {
  return opt_parameter_groups(model_.config);
}

std::vector<TensorToWrite> OptSequenceModel::checkpoint_tensors(DType dtype) const {
  return opt_checkpoint_tensors(model_, dtype);
}

std::vector<TensorToWrite> OptSequenceModel::container_tensors() const { return opt_container_tensors(model_); }

ContainerPlan OptSequenceModel::container_plan() const {
  return {plan_of(linears()), std::string(model_.weights.embed_tokens.format()), model_.attention,
          model_.weights.embed_tokens.int8_head()};
}

void OptSequenceModel::set_attention_arithmetic(AttentionArithmetic a) { model_.attention = a; }

// The caller's buffer is swapped in as the forward's own hidden states, so nothing is copied.
void OptSequenceModel::embed(const TokenBatch& batch, AlignedVector<float>& hidden) {
  opt_embed(model_, batch, activations_);
  std::swap(hidden, activations_.hidden);
}

void OptSequenceModel::run_layers(const TokenBatch& batch, AlignedVector<float>& hidden, int first, int end,
                                  const Tap* tap) {
  with_hidden_swapped_in(hidden, activations_.hidden,
                         [&] { opt_run_layers(model_, batch, activations_, first, end, tap); });
}

void OptSequenceModel::run_layer_rows(const TokenBatch& batch, AlignedVector<float>& hidden, int layer,
                                      std::span<const int64_t> rows, AlignedVector<float>& out) {
  with_hidden_swapped_in(hidden, activations_.hidden,
                         [&] { opt_run_layer_rows(model_, batch, activations_, layer, rows, out); });
}

std::vector<SmoothableInput> OptSequenceModel::smoothable_inputs() {
  std::vector<SmoothableInput> inputs;
  for (size_t i = 0; i < model_.weights.layers.size(); ++i) {
    OptLayerWeights& l = model_.weights.layers[i];
    const std::string prefix = "model.decoder.layers." + std::to_string(i);
    inputs.push_back(
        {prefix + ".self_attn_layer_norm", &l.attention_norm.weight, &l.attention_norm.bias, nullptr, 0, {&l.qkv}});
    inputs.push_back({prefix + ".final_layer_norm", &l.ffn_norm.weight, &l.ffn_norm.bias, nullptr, 0, {&l.fc1}});
    // ReLU commutes with a positive scale: fc1's rows and bias scale fc2's input.
    inputs.push_back({prefix + ".fc1", nullptr, nullptr, &l.fc1, 0, {&l.fc2}});
  }
  return inputs;
}

void OptSequenceModel::trace(const TokenBatch& batch, const ForwardOptions& options) {
  opt_trace(model_, batch, activations_, options.tap);
}

void OptSequenceModel::target_logprobs(const TokenBatch& batch, const std::vector<LogprobTarget>& targets,
                                       std::vector<double>& logprobs) {
  opt_target_logprobs(model_, batch, targets, activations_, logprobs);
}

void OptSequenceModel::final_norm(float* hidden, int64_t rows) { opt_final_norm(model_, hidden, rows); }

}  // namespace squish
