#include "model/llama/llama_config.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/common/config_fields.h"

namespace squish {
namespace {

void check_shapes(const LlamaConfig& c, const std::string& file) {
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    throw ConfigError(file + ": " + std::to_string(c.num_attention_heads) + " attention heads do not divide into " +
                      std::to_string(c.num_key_value_heads) + " key/value heads");
  if (c.head_dim % 2 != 0)
    throw ConfigError(file + ": head_dim " + std::to_string(c.head_dim) + ": rotary embeddings need an even size");
}

}  // namespace

LlamaConfig parse_llama_config(const nlohmann::json& j, const std::string& file) {
  LlamaConfig c;
  c.architecture = architecture_field(j, c.architecture);
  if (c.architecture != "LlamaForCausalLM")
    throw ConfigError(file + ": architecture " + c.architecture + ": squish runs LlamaForCausalLM of model_type llama");
  c.vocab_size = positive_integer_field(j, "vocab_size", file);
  c.hidden_size = positive_integer_field(j, "hidden_size", file);
  c.intermediate_size = positive_integer_field(j, "intermediate_size", file);
  c.num_hidden_layers = positive_integer_field(j, "num_hidden_layers", file);
  c.num_attention_heads = positive_integer_field(j, "num_attention_heads", file);
  c.num_key_value_heads = j.contains("num_key_value_heads") && !j["num_key_value_heads"].is_null()
                              ? positive_integer_field(j, "num_key_value_heads", file)
                              : c.num_attention_heads;
  c.head_dim = j.contains("head_dim") && !j["head_dim"].is_null() ? positive_integer_field(j, "head_dim", file)
                                                                  : c.hidden_size / c.num_attention_heads;
  c.max_position_embeddings = positive_integer_field(j, "max_position_embeddings", file);
  c.rms_norm_eps = positive_number_field(j, "rms_norm_eps", 1e-6, file);
  // transformers 5 writes rope_parameters {rope_theta, rope_type}; earlier versions rope_theta and rope_scaling.
  c.rope_theta = positive_number_field(j, "rope_theta", 10000.0, file);
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
    const nlohmann::json& rope = j["rope_parameters"];
    c.rope_theta = positive_number_field(rope, "rope_theta", c.rope_theta, file);
    const std::string type = rope.value("rope_type", std::string("default"));
    if (type != "default")
      throw ConfigError(file + ": \"rope_parameters\": rope_type \"" + type +
                        "\": scaled rotary embeddings are not supported (expected \"default\")");
  }
  c.tie_word_embeddings = j.value("tie_word_embeddings", false);
  const std::string act = j.value("hidden_act", std::string("silu"));
  if (act != "silu") throw ConfigError(file + ": \"hidden_act\": \"" + act + "\": expected \"silu\" (SwiGLU)");
  for (const char* key : {"attention_bias", "mlp_bias"})
    if (j.value(key, false))
      throw ConfigError(file + ": \"" + std::string(key) + "\": true: squish's Llama has no biases");
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null())
    throw ConfigError(file + ": \"rope_scaling\": scaled rotary embeddings are not supported (expected null)");
  check_shapes(c, file);
  return c;
}

LlamaConfig llama_config_from_gguf(const nlohmann::json& m, int64_t vocab_rows, const std::string& file) {
  const std::string arch = m.value("general.architecture", std::string());
  if (arch != "llama")
    throw ConfigError(file + ": general.architecture \"" + arch + "\": squish reads llama GGUF files");
  auto integer = [&](const char* key) -> int64_t {
    if (!m.contains(key) || !m[key].is_number_integer() || m[key].get<int64_t>() <= 0)
      throw ConfigError(file + ": metadata " + key + ": expected a positive integer");
    return m[key].get<int64_t>();
  };
  LlamaConfig c;
  c.vocab_size = m.contains("llama.vocab_size") ? integer("llama.vocab_size") : vocab_rows;
  c.hidden_size = integer("llama.embedding_length");
  c.intermediate_size = integer("llama.feed_forward_length");
  c.num_hidden_layers = integer("llama.block_count");
  c.num_attention_heads = integer("llama.attention.head_count");
  c.num_key_value_heads =
      m.contains("llama.attention.head_count_kv") ? integer("llama.attention.head_count_kv") : c.num_attention_heads;
  c.head_dim = m.contains("llama.attention.key_length") ? integer("llama.attention.key_length")
                                                        : c.hidden_size / c.num_attention_heads;
  if (m.contains("llama.rope.dimension_count") && integer("llama.rope.dimension_count") != c.head_dim)
    throw ConfigError(file + ": llama.rope.dimension_count: partial rotary embeddings are not supported");
  c.max_position_embeddings = integer("llama.context_length");
  c.rms_norm_eps = positive_number_field(m, "llama.attention.layer_norm_rms_epsilon", 1e-5, file);
  c.rope_theta = positive_number_field(m, "llama.rope.freq_base", 10000.0, file);
  if (m.contains("llama.rope.scaling.type") && m["llama.rope.scaling.type"] != "none")
    throw ConfigError(file + ": llama.rope.scaling.type: scaled rotary embeddings are not supported");
  check_shapes(c, file);
  return c;
}

std::string llama_config_json(const LlamaConfig& c) {
  const nlohmann::json j = {{"architectures", {c.architecture}},
                            {"model_type", "llama"},
                            {"vocab_size", c.vocab_size},
                            {"hidden_size", c.hidden_size},
                            {"intermediate_size", c.intermediate_size},
                            {"num_hidden_layers", c.num_hidden_layers},
                            {"num_attention_heads", c.num_attention_heads},
                            {"num_key_value_heads", c.num_key_value_heads},
                            {"head_dim", c.head_dim},
                            {"max_position_embeddings", c.max_position_embeddings},
                            {"rms_norm_eps", c.rms_norm_eps},
                            {"rope_parameters", {{"rope_theta", c.rope_theta}, {"rope_type", "default"}}},
                            {"tie_word_embeddings", c.tie_word_embeddings},
                            {"hidden_act", "silu"},
                            {"attention_bias", false},
                            {"mlp_bias", false}};
  return j.dump(2) + "\n";
}

}  // namespace squish
