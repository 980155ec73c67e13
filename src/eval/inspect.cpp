#include "eval/inspect.h"

#include <filesystem>

#include <fmt/format.h>

#include "io/hf_config.h"
#include "model/bert/bert_checkpoint.h"

namespace squish {

ModelSummary inspect_model(const std::string& model_dir) {
  ModelSummary s;
  s.model_dir = model_dir;
  s.config = parse_bert_config_file(model_dir + "/config.json");
  s.weights_file = find_weights_file(model_dir);
  s.weights_file_bytes = static_cast<int64_t>(std::filesystem::file_size(s.weights_file));
  const TensorMap tensors = read_weights_file(s.weights_file);
  s.tensors = static_cast<int64_t>(tensors.size());
  for (const auto& [name, t] : tensors) ++s.dtype_tensors[std::string(dtype_name(t.dtype))];
  // Binding checks every tensor the architecture needs and says which stored ones it left.
  std::vector<std::string> unused;
  const BertModel m = bert_from_tensors(s.config, tensors, s.weights_file, &unused);
  s.groups = m.parameter_groups();
  s.parameters = m.parameter_count();
  s.unused_tensors = static_cast<int64_t>(unused.size());
  return s;
}

nlohmann::json model_summary_json(const ModelSummary& s) {
  const BertConfig& c = s.config;
  nlohmann::json groups = nlohmann::json::object();
  for (const auto& [name, n] : s.groups) groups[name] = n;
  nlohmann::json labels = nlohmann::json::object();
  for (const auto& [id, name] : c.id2label) labels[std::to_string(id)] = name;
  return {{"model_dir", s.model_dir},
          {"weights_file", s.weights_file},
          {"architecture", c.architecture},
          {"config",
           {{"vocab_size", c.vocab_size},
            {"hidden_size", c.hidden_size},
            {"num_hidden_layers", c.num_hidden_layers},
            {"num_attention_heads", c.num_attention_heads},
            {"intermediate_size", c.intermediate_size},
            {"max_position_embeddings", c.max_position_embeddings},
            {"type_vocab_size", c.type_vocab_size},
            {"layer_norm_eps", c.layer_norm_eps},
            {"hidden_act", c.hidden_act},
            {"num_labels", c.num_labels},
            {"id2label", labels}}},
          {"parameters", s.parameters},
          {"parameter_groups", groups},
          {"tensors", s.tensors},
          {"unused_tensors", s.unused_tensors},
          {"dtypes", s.dtype_tensors},
          {"weights_file_bytes", s.weights_file_bytes},
          {"parameter_bytes_fp32", s.parameters * 4}};
}

std::string model_summary_text(const ModelSummary& s) {
  const BertConfig& c = s.config;
  std::string out = fmt::format("{}\n  architecture  {}\n  weights       {} ({:.2f} MB, {} tensors", s.model_dir,
                                c.architecture, s.weights_file, static_cast<double>(s.weights_file_bytes) / 1e6, s.tensors);
  for (const auto& [dt, n] : s.dtype_tensors) out += fmt::format(", {} {}", n, dt);
  out += fmt::format(")\n  shape         L={} H={} NH={} FF={} V={} max_positions={} labels={}\n", c.num_hidden_layers,
                     c.hidden_size, c.num_attention_heads, c.intermediate_size, c.vocab_size,
                     c.max_position_embeddings, c.num_labels);
  out += fmt::format("  parameters    {} ({:.2f} MB as fp32)\n", s.parameters, static_cast<double>(s.parameters) * 4 / 1e6);
  for (const auto& [name, n] : s.groups)
    out += fmt::format("    {:<14}{:>12}  {:5.1f}%\n", name, n, 100.0 * static_cast<double>(n) / static_cast<double>(s.parameters));
  if (s.unused_tensors > 0) out += fmt::format("  {} stored tensors are not used by this architecture\n", s.unused_tensors);
  return out;
}

}  // namespace squish
