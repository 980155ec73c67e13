#include "eval/inspect.h"

#include <filesystem>

#include <fmt/format.h>

#include "io/hf_config.h"
#include "io/safetensors.h"
#include "io/torch_zip.h"
#include "model/bert/bert_checkpoint.h"

namespace squish {

ModelSummary inspect_model(const std::string& model_dir) {
  ModelSummary s;
  s.model_dir = model_dir;
  s.config = parse_bert_config_file(model_dir + "/config.json");
  s.weights_file = find_weights_file(model_dir);
  s.weights_file_bytes = static_cast<int64_t>(std::filesystem::file_size(s.weights_file));
  const bool st = s.weights_file.ends_with(".safetensors");
  const TensorMap tensors = st ? read_safetensors(s.weights_file) : read_torch_zip(s.weights_file);
  s.tensors = static_cast<int64_t>(tensors.size());
  for (const auto& [name, t] : tensors) ++s.dtype_tensors[std::string(dtype_name(t.dtype))];

  // Binding checks every tensor the architecture needs; counting goes by the model's own structs.
  const BertModel m = bert_from_tensors(s.config, tensors, s.weights_file);
  const BertWeights& w = m.weights;
  auto lin = [](const Linear& l) { return l.weight.numel() + l.bias.numel(); };
  int64_t attention = 0, ffn = 0, norms = 0;
  for (const auto& l : w.layers) {
    attention += lin(l.qkv) + lin(l.attention_out);
    ffn += lin(l.intermediate) + lin(l.output);
    norms += l.attention_ln_gamma.numel() + l.attention_ln_beta.numel() + l.output_ln_gamma.numel() +
             l.output_ln_beta.numel();
  }
  const int64_t embeddings = w.word_embeddings.numel() + w.position_embeddings.numel() +
                             w.token_type_embeddings.numel() + w.embeddings_ln_gamma.numel() +
                             w.embeddings_ln_beta.numel();
  s.groups = {{"embeddings", embeddings}, {"attention", attention}, {"feed_forward", ffn}, {"layer_norms", norms}};
  if (w.has_classifier) {
    s.groups.emplace_back("pooler", lin(w.pooler));
    s.groups.emplace_back("classifier", lin(w.classifier));
  }
  s.parameters = m.parameter_count();
  // Each model tensor comes from one stored tensor: the rest are unused (an MLM head, position_ids buffers).
  const int64_t model_tensors = 5 + 16 * s.config.num_hidden_layers + (w.has_classifier ? 4 : 0);
  s.unused_tensors = s.tensors - model_tensors;
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
