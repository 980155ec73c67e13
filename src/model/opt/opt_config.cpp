#include "model/opt/opt_config.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/common/config_fields.h"

namespace squish {
namespace {

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
  c.architecture = architecture_field(j, c.architecture);
  if (c.architecture != "OPTForCausalLM")
    throw ConfigError(file + ": architecture " + c.architecture + ": squish runs OPTForCausalLM of model_type opt");
  c.vocab_size = positive_integer_field(j, "vocab_size", file);
  c.hidden_size = positive_integer_field(j, "hidden_size", file);
  c.ffn_dim = positive_integer_field(j, "ffn_dim", file);
  c.num_hidden_layers = positive_integer_field(j, "num_hidden_layers", file);
  c.num_attention_heads = positive_integer_field(j, "num_attention_heads", file);
  c.max_position_embeddings = positive_integer_field(j, "max_position_embeddings", file);
  if (c.hidden_size % c.num_attention_heads != 0)
    throw ConfigError(file + ": \"hidden_size\" " + std::to_string(c.hidden_size) + " does not divide into " +
                      std::to_string(c.num_attention_heads) + " attention heads");
  if (j.contains("word_embed_proj_dim") && !j["word_embed_proj_dim"].is_null() &&
      positive_integer_field(j, "word_embed_proj_dim", file) != c.hidden_size)
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
