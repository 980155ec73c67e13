#include "model/opt/opt_config.h"

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace squish {
namespace {

int64_t positive(const nlohmann::json& j, const char* key, const std::string& file) {
  if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<int64_t>() <= 0)
    throw ConfigError(file + ": \"" + key + "\": expected a positive integer");
  return j[key].get<int64_t>();
}

// A boolean field, OPTConfig's default when absent or null.
bool flag(const nlohmann::json& j, const char* key, bool fallback, const std::string& file) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean()) throw ConfigError(file + ": \"" + key + "\": expected true or false");
  return j[key].get<bool>();
}

// A field whose only value squish computes is OPTConfig's default.
void require_flag(const nlohmann::json& j, const char* key, bool supported, const std::string& file, const char* why) {
  if (flag(j, key, supported, file) != supported)
    throw ConfigError(file + ": \"" + key + "\": " + (supported ? "false" : "true") + ": " + why);
}

}  // namespace

OptConfig parse_opt_config(const nlohmann::json& j, const std::string& file) {
  OptConfig c;
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
      j["architectures"][0].is_string())
    c.architecture = j["architectures"][0].get<std::string>();
  if (c.architecture != "OPTForCausalLM")
    throw ConfigError(file + ": architecture " + c.architecture + ": squish runs OPTForCausalLM of model_type opt");
  c.vocab_size = positive(j, "vocab_size", file);
  c.hidden_size = positive(j, "hidden_size", file);
  c.ffn_dim = positive(j, "ffn_dim", file);
  c.num_hidden_layers = positive(j, "num_hidden_layers", file);
  c.num_attention_heads = positive(j, "num_attention_heads", file);
  c.max_position_embeddings = positive(j, "max_position_embeddings", file);
  if (c.hidden_size % c.num_attention_heads != 0)
    throw ConfigError(file + ": \"hidden_size\" " + std::to_string(c.hidden_size) + " does not divide into " +
                      std::to_string(c.num_attention_heads) + " attention heads");
  if (j.contains("word_embed_proj_dim") && !j["word_embed_proj_dim"].is_null() &&
      positive(j, "word_embed_proj_dim", file) != c.hidden_size)
    throw ConfigError(file + ": \"word_embed_proj_dim\" " + std::to_string(j["word_embed_proj_dim"].get<int64_t>()) +
                      " differs from hidden_size " + std::to_string(c.hidden_size) +
                      ": the project_in/project_out embedding projections (opt-350m) are not supported");
  require_flag(j, "do_layer_norm_before", true, file,
               "post-LayerNorm layers (opt-350m) are not supported; squish runs pre-LayerNorm OPT");
  require_flag(j, "_remove_final_layer_norm", false, file, "a decoder without its final LayerNorm is not supported");
  require_flag(j, "enable_bias", true, file, "squish's OPT Linears have biases");
  require_flag(j, "layer_norm_elementwise_affine", true, file, "squish's OPT LayerNorms have weights and biases");
  if (j.contains("activation_function") && !j["activation_function"].is_null()) {
    if (!j["activation_function"].is_string() || j["activation_function"].get<std::string>() != "relu")
      throw ConfigError(file + ": \"activation_function\": " + j["activation_function"].dump() +
                        ": expected \"relu\" (OPT's feed-forward)");
  }
  c.tie_word_embeddings = flag(j, "tie_word_embeddings", true, file);
  return c;
}

}  // namespace squish
