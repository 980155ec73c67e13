// A Llama-family causal LM behind the architecture-neutral SequenceModel interface.
#pragma once

#include <vector>

#include "model/common/sequence_model.h"
#include "model/llama/llama_forward.h"

namespace squish {

class LlamaSequenceModel final : public SequenceModel {
 public:
  LlamaSequenceModel(LlamaModel model, ModelInfo loaded);

  const ModelInfo& info() const override { return info_; }
  // A causal LM has no classification head: ConfigError naming the model.
  void forward(const TokenBatch& batch, std::vector<float>& logits, const ForwardOptions& options) override;
  // Every position's next token through the LM head (what perplexity computes).
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
  void trace(const TokenBatch& batch, const ForwardOptions& options) override;
  void target_logprobs(const TokenBatch& batch, const std::vector<LogprobTarget>& targets,
                       std::vector<double>& logprobs) override;
  void final_norm(float* hidden, int64_t rows) override;
  std::vector<SmoothableInput> smoothable_inputs() override;
  EmbeddingTable& mutable_word_embeddings() override { return model_.weights.embed_tokens; }

  const LlamaModel& model() const { return model_; }

 private:
  LlamaModel model_;
  ModelInfo info_;
  LlamaActivations activations_;
};

// The architecture's part of ModelInfo, from the config.
void describe_llama(const LlamaConfig& config, ModelInfo& info);

}  // namespace squish
