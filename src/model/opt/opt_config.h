// OPT's hyper-parameters (OPTForCausalLM, model_type "opt") from a HF config.json. squish computes
// the pre-LayerNorm decoders with ReLU that every published OPT size but 350m is; what it does not
// compute (post-LayerNorm, a projected embedding width, another activation) is refused by name
// rather than run wrongly.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace squish {

struct OptConfig {
  std::string architecture = "OPTForCausalLM";
  int64_t vocab_size = 0, hidden_size = 0, ffn_dim = 0, num_hidden_layers = 0, num_attention_heads = 0;
  int64_t max_position_embeddings = 0;
  bool tie_word_embeddings = true;

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  // HF's OPTLearnedPositionalEmbedding: position p reads row p + 2 (fairseq kept rows for padding).
  static constexpr int64_t kPositionOffset = 2;
  // nn.LayerNorm's default: OPT's config has no epsilon.
  static constexpr float kLayerNormEps = 1e-5f;
};

// ConfigError naming `file` and the field for a missing or out-of-range value or an unsupported feature.
OptConfig parse_opt_config(const nlohmann::json& config, const std::string& file);

}  // namespace squish
