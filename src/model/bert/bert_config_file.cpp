#include "model/bert/bert_config_file.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_util.h"
#include "io/json_error.h"

namespace squish {
namespace {

using nlohmann::json;

int64_t positive_int(const json& j, const char* key, int64_t fallback, const std::string& path) {
  if (!j.contains(key)) return fallback;
  const json& v = j.at(key);
  if (!v.is_number_integer() || v.get<int64_t>() <= 0)
    throw ConfigError(path + ": \"" + key + "\" must be a positive integer, found " + v.dump());
  return v.get<int64_t>();
}

std::string string_field(const json& j, const char* key, const std::string& fallback, const std::string& path) {
  if (!j.contains(key) || j.at(key).is_null()) return fallback;
  if (!j.at(key).is_string()) throw ConfigError(path + ": \"" + key + "\" must be a string, found " + j.at(key).dump());
  return j.at(key).get<std::string>();
}

// A dropout rate in [0, 1).
double probability(const json& j, const char* key, double fallback, const std::string& path) {
  if (!j.contains(key)) return fallback;
  const json& v = j.at(key);
  if (!v.is_number() || v.get<double>() < 0 || v.get<double>() >= 1)
    throw ConfigError(path + ": \"" + key + "\" must be a probability in [0, 1), found " + v.dump());
  return v.get<double>();
}

constexpr const char* kLayerSizesKey = "squish_layer_sizes";

// One list of "squish_layer_sizes": L integers in [1, uniform]. Empty when absent or when every
// layer has the uniform size, so an empty list always means "uniform" (BertConfig's convention).
std::vector<int64_t> layer_size_list(const json& sizes, const char* key, int64_t layers, int64_t uniform,
                                     const std::string& path) {
  if (!sizes.contains(key)) return {};
  const json& v = sizes.at(key);
  const std::string where = path + ": \"" + kLayerSizesKey + "\".\"" + key + "\"";
  if (!v.is_array() || static_cast<int64_t>(v.size()) != layers)
    throw ConfigError(where + " must be a list of " + std::to_string(layers) + " integers (one per layer), found " +
                      v.dump());
  std::vector<int64_t> out;
  for (const json& e : v) {
    if (!e.is_number_integer() || e.get<int64_t>() < 1 || e.get<int64_t>() > uniform)
      throw ConfigError(where + ": every entry must be an integer in [1, " + std::to_string(uniform) + "], found " +
                        e.dump());
    out.push_back(e.get<int64_t>());
  }
  if (std::all_of(out.begin(), out.end(), [&](int64_t n) { return n == uniform; })) out.clear();
  return out;
}

}  // namespace

BertConfig parse_bert_config_text(const std::string& json_text, const std::string& path) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::parse_error& e) {
    throw FormatError(path + ": malformed JSON: " + json_error_text(e));
  }
  if (!j.is_object()) throw FormatError(path + ": expected a JSON object at top level");

  const std::string model_type = string_field(j, "model_type", "", path);
  if (model_type != "bert")
    throw ConfigError(path + ": unknown model_type \"" + model_type +
                      "\"; squish runs \"bert\" encoders (BertModel, BertForSequenceClassification) and \"llama\" "
                      "decoders (LlamaForCausalLM)");
  BertConfig c;
  if (j.contains("architectures")) {
    const json& a = j.at("architectures");
    if (!a.is_array() || a.empty() || !a[0].is_string())
      throw ConfigError(path + ": \"architectures\" must be a non-empty list of names, found " + a.dump());
    c.architecture = a[0].get<std::string>();
  } else {
    c.architecture = "BertModel";
  }
  static const char* kKnown[] = {"BertModel", "BertForSequenceClassification", "BertForMaskedLM", "BertForPreTraining"};
  bool known = false;
  for (const char* k : kKnown) known |= c.architecture == k;
  if (!known)
    throw ConfigError(path + ": unknown architecture \"" + c.architecture +
                      "\"; expected one of BertModel, BertForSequenceClassification, BertForMaskedLM, BertForPreTraining");

  c.vocab_size = positive_int(j, "vocab_size", c.vocab_size, path);
  c.hidden_size = positive_int(j, "hidden_size", c.hidden_size, path);
  c.num_hidden_layers = positive_int(j, "num_hidden_layers", c.num_hidden_layers, path);
  c.num_attention_heads = positive_int(j, "num_attention_heads", c.num_attention_heads, path);
  c.intermediate_size = positive_int(j, "intermediate_size", c.intermediate_size, path);
  c.max_position_embeddings = positive_int(j, "max_position_embeddings", c.max_position_embeddings, path);
  c.type_vocab_size = positive_int(j, "type_vocab_size", c.type_vocab_size, path);
  if (j.contains("pad_token_id") && j.at("pad_token_id").is_number_integer()) c.pad_token_id = j.at("pad_token_id");
  if (c.hidden_size % c.num_attention_heads != 0)
    throw ConfigError(path + ": hidden_size " + std::to_string(c.hidden_size) + " is not a multiple of num_attention_heads " +
                      std::to_string(c.num_attention_heads));
  if (j.contains(kLayerSizesKey)) {
    const json& sizes = j.at(kLayerSizesKey);
    if (!sizes.is_object())
      throw ConfigError(path + ": \"" + kLayerSizesKey +
                        "\" must be an object with \"num_attention_heads\" and/or \"intermediate_size\" lists");
    for (const auto& [key, value] : sizes.items())
      if (key != "num_attention_heads" && key != "intermediate_size")
        throw ConfigError(path + ": \"" + kLayerSizesKey + "\" has unknown key \"" + key +
                          "\"; expected \"num_attention_heads\" and/or \"intermediate_size\"");
    c.layer_heads = layer_size_list(sizes, "num_attention_heads", c.num_hidden_layers, c.num_attention_heads, path);
    c.layer_intermediate_sizes =
        layer_size_list(sizes, "intermediate_size", c.num_hidden_layers, c.intermediate_size, path);
  }
  if (j.contains("layer_norm_eps")) {
    const json& e = j.at("layer_norm_eps");
    if (!e.is_number() || e.get<double>() <= 0) throw ConfigError(path + ": \"layer_norm_eps\" must be a positive number");
    c.layer_norm_eps = e.get<double>();
  }
  c.finetuning_task = string_field(j, "finetuning_task", "", path);
  c.hidden_dropout_prob = probability(j, "hidden_dropout_prob", c.hidden_dropout_prob, path);
  c.attention_probs_dropout_prob = probability(j, "attention_probs_dropout_prob", c.attention_probs_dropout_prob, path);
  if (j.contains("initializer_range")) {
    const json& r = j.at("initializer_range");
    if (!r.is_number() || r.get<double>() <= 0)
      throw ConfigError(path + ": \"initializer_range\" must be a positive number, found " + r.dump());
    c.initializer_range = r.get<double>();
  }
  if (j.contains("classifier_dropout") && !j.at("classifier_dropout").is_null())
    c.classifier_dropout = probability(j, "classifier_dropout", 0.0, path);
  c.hidden_act = string_field(j, "hidden_act", "gelu", path);
  if (c.hidden_act != "gelu")
    throw ConfigError(path + ": hidden_act \"" + c.hidden_act + "\" is not supported; squish implements BERT's erf \"gelu\"");
  const std::string pos = string_field(j, "position_embedding_type", "absolute", path);
  if (pos != "absolute")
    throw ConfigError(path + ": position_embedding_type \"" + pos + "\" is not supported; expected \"absolute\"");

  if (j.contains("id2label")) {
    const json& m = j.at("id2label");
    if (!m.is_object()) throw ConfigError(path + ": \"id2label\" must be an object");
    for (const auto& [k, v] : m.items()) {
      size_t used = 0;
      int64_t id = -1;
      try {
        id = std::stoll(k, &used);
      } catch (const std::exception&) {
      }
      if (used != k.size() || id < 0 || !v.is_string())
        throw ConfigError(path + ": \"id2label\" entry \"" + k + "\" must map a label id to a name");
      c.id2label[id] = v.get<std::string>();
    }
  }
  const int64_t labels_from_map = static_cast<int64_t>(c.id2label.size());
  c.num_labels = positive_int(j, "num_labels", labels_from_map > 0 ? labels_from_map : 2, path);
  if (labels_from_map > 0 && labels_from_map != c.num_labels)
    throw ConfigError(path + ": num_labels " + std::to_string(c.num_labels) + " disagrees with id2label's " +
                      std::to_string(labels_from_map) + " entries");
  for (int64_t i = 0; i < c.num_labels; ++i)
    if (!c.id2label.count(i)) c.id2label[i] = "LABEL_" + std::to_string(i);
  return c;
}

std::string config_text_with_layer_sizes(const std::string& json_text, const std::vector<int64_t>& layer_heads,
                                        const std::vector<int64_t>& layer_intermediate_sizes,
                                        const std::string& path) {
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(json_text);
  } catch (const nlohmann::ordered_json::parse_error& e) {
    throw FormatError(path + ": malformed JSON: " + json_error_text(e));
  }
  if (!j.is_object()) throw FormatError(path + ": expected a JSON object at top level");
  const bool uniform = layer_heads.empty() && layer_intermediate_sizes.empty();
  // A uniform model's config is kept byte for byte: HF's own files stay as HF wrote them.
  if (uniform && !j.contains(kLayerSizesKey)) return json_text;
  if (uniform) {
    j.erase(kLayerSizesKey);
  } else {
    nlohmann::ordered_json sizes = nlohmann::ordered_json::object();
    if (!layer_heads.empty()) sizes["num_attention_heads"] = layer_heads;
    if (!layer_intermediate_sizes.empty()) sizes["intermediate_size"] = layer_intermediate_sizes;
    j[kLayerSizesKey] = sizes;
  }
  return j.dump(2) + "\n";
}

BertConfig parse_bert_config_file(const std::string& path) {
  if (!file_exists(path)) throw IoError(path + ": missing (a HF model directory needs config.json)");
  return parse_bert_config_text(read_file(path), path);
}

}  // namespace squish
