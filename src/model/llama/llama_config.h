// The Llama family's hyper-parameters (Llama 2/3, SmolLM2, Mistral-style GQA without sliding
// windows), from a HF config.json or from a GGUF file's llama.* metadata. Features squish does not
// compute (rope scaling, biases, other activations) are refused by name rather than run wrongly.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace squish {

struct LlamaConfig {
  std::string architecture = "LlamaForCausalLM";
  int64_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_hidden_layers = 0;
  int64_t num_attention_heads = 0, num_key_value_heads = 0, head_dim = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6, rope_theta = 10000.0;
  bool tie_word_embeddings = false;

  int64_t kv_group() const { return num_attention_heads / num_key_value_heads; }
  int64_t qkv_rows() const { return (num_attention_heads + 2 * num_key_value_heads) * head_dim; }
};

// ConfigError naming `file` and the field for a missing or out-of-range value or an unsupported feature.
LlamaConfig parse_llama_config(const nlohmann::json& config, const std::string& file);
// From GGUF metadata (general.architecture "llama"): llama.block_count, llama.embedding_length, ...
LlamaConfig llama_config_from_gguf(const nlohmann::json& metadata, int64_t vocab_rows, const std::string& file);

// config.json's text for this config, as transformers writes a LlamaForCausalLM's (for export).
std::string llama_config_json(const LlamaConfig& config);

}  // namespace squish
