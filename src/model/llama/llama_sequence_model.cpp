#include "model/llama/llama_sequence_model.h"

#include "core/error.h"
#include "core/file_util.h"
#include "model/llama/llama_checkpoint.h"

namespace squish {

void describe_llama(const LlamaConfig& c, ModelInfo& info) {
  info.architecture = c.architecture;
  info.model_type = "llama";
  info.has_lm_head = true;
  info.limits = llama_token_limits(c);
  info.hidden_size = c.hidden_size;
  info.layers = c.num_hidden_layers;
  info.heads = c.num_attention_heads;
  info.intermediate_size = c.intermediate_size;
}

LlamaSequenceModel::LlamaSequenceModel(LlamaModel model, ModelInfo loaded)
    : model_(std::move(model)), info_(std::move(loaded)) {
  info_.source = model_.source;
  describe_llama(model_.config, info_);
  info_.tied_lm_head = model_.weights.tied_head;
  if (info_.config_text.empty())
    info_.config_text = info_.config_path.empty() ? llama_config_json(model_.config) : read_file(info_.config_path);
}

void LlamaSequenceModel::forward(const TokenBatch&, std::vector<float>&, const ForwardOptions&) {
  throw ConfigError(info_.source + ": " + info_.architecture +
                    " is a causal language model without a sequence-classification head; score it with a "
                    "language-modelling task (--task hellaswag) or squish perplexity");
}

double LlamaSequenceModel::forward_flops(int64_t batch, int64_t tokens, LastLayerRows) const {
  return llama_forward_flops(model_.config, batch, tokens, batch * tokens);
}

std::vector<TensorToWrite> LlamaSequenceModel::checkpoint_tensors(DType dtype) const {
  return llama_checkpoint_tensors(model_, dtype);
}

std::vector<TensorToWrite> LlamaSequenceModel::container_tensors() const { return llama_container_tensors(model_); }

ContainerPlan LlamaSequenceModel::container_plan() const {
  return {plan_of(linears()), std::string(model_.weights.embed_tokens.format()), model_.attention,
          model_.weights.embed_tokens.int8_head()};
}

void LlamaSequenceModel::set_attention_arithmetic(AttentionArithmetic a) { model_.attention = a; }

// The caller's buffer is swapped in as the forward's own hidden states, so nothing is copied.
void LlamaSequenceModel::embed(const TokenBatch& batch, AlignedVector<float>& hidden) {
  llama_embed(model_, batch, activations_);
  std::swap(hidden, activations_.hidden);
}

void LlamaSequenceModel::run_layers(const TokenBatch& batch, AlignedVector<float>& hidden, int first, int end,
                                    const Tap* tap) {
  with_hidden_swapped_in(hidden, activations_.hidden,
                         [&] { llama_run_layers(model_, batch, activations_, first, end, tap); });
}

void LlamaSequenceModel::run_layer_rows(const TokenBatch& batch, AlignedVector<float>& hidden, int layer,
                                        std::span<const int64_t> rows, AlignedVector<float>& out) {
  with_hidden_swapped_in(hidden, activations_.hidden,
                         [&] { llama_run_layer_rows(model_, batch, activations_, layer, rows, out); });
}

std::vector<SmoothableInput> LlamaSequenceModel::smoothable_inputs() {
  std::vector<SmoothableInput> inputs;
  const int64_t ff = model_.config.intermediate_size;
  for (size_t i = 0; i < model_.weights.layers.size(); ++i) {
    LlamaLayerWeights& l = model_.weights.layers[i];
    const std::string prefix = "model.layers." + std::to_string(i);
    inputs.push_back({prefix + ".input_layernorm", &l.input_norm, nullptr, nullptr, 0, {&l.qkv}});
    inputs.push_back({prefix + ".post_attention_layernorm", &l.post_attention_norm, nullptr, nullptr, 0, {&l.gate_up}});
    // silu(gate)·up is linear in up: up_proj's rows (the second half of gate_up) scale down_proj's input.
    inputs.push_back({prefix + ".mlp.up_proj", nullptr, nullptr, &l.gate_up, ff, {&l.down}});
  }
  return inputs;
}

void LlamaSequenceModel::trace(const TokenBatch& batch, const ForwardOptions& options) {
  llama_trace(model_, batch, activations_, options.tap);
}

void LlamaSequenceModel::target_logprobs(const TokenBatch& batch, const std::vector<LogprobTarget>& targets,
                                         std::vector<double>& logprobs) {
  llama_target_logprobs(model_, batch, targets, activations_, logprobs);
}

void LlamaSequenceModel::final_norm(float* hidden, int64_t rows) { llama_final_norm(model_, hidden, rows); }

}  // namespace squish
