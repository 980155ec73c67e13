#include "eval/inspect.h"

#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/file_util.h"
#include "core/human_format.h"
#include "io/weights_file.h"
#include "model/common/int8_linear_weights.h"
#include "model/common/linear_formats.h"
#include "model/common/sparse_linear_weights.h"
#include "model/load_model.h"

namespace squish {

ModelSummary inspect_model(const std::string& model_dir) {
  ModelSummary s;
  s.model_dir = model_dir;
  // A tokenizer-and-config directory: sizes from config.json alone.
  if (!gguf_model_file(model_dir) && !weights_file_in(model_dir)) {
    ConfigSummary c = describe_config(model_dir);
    s.info = std::move(c.info);
    s.config = nlohmann::json::parse(read_file(s.info.config_path));
    s.groups = std::move(c.parameter_groups);
    s.parameters = total_parameters(s.groups);
    return s;
  }
  const std::unique_ptr<SequenceModel> model = load_model(model_dir);
  s.info = model->info();
  s.config = nlohmann::json::parse(s.info.config_text);  // already validated by load_model
  s.groups = model->parameter_groups();
  s.parameters = model->parameter_count();
  s.resident_bytes = model->resident_bytes();
  s.embeddings_format = model->mutable_word_embeddings().format();
  s.attention = attention_arithmetic_name(model->attention_arithmetic());
  if (s.info.tied_lm_head) s.tied_head = model->container_plan().int8_tied_head ? "int8-dynamic" : "table";
  for (const Linear* l : model->linears()) {
    LinearSummary ls{l->name, std::string(linear_role_name(l->role)), std::string(l->weights->format()),
                     l->out_features(), l->in_features(), linear_bytes(*l), {}, {}};
    for (const auto& p : l->parts) ls.parts.push_back(p.name);
    if (const Int8LinearWeights* q = int8_weights_of(*l)) {
      ls.scheme = q->granularity() == WeightGranularity::kPerChannel ? "s8 per_channel" : "s8 per_tensor";
      ls.scheme += q->static_input() ? fmt::format(", u8 input scale {:.6g} zero point {}", q->static_input()->scale,
                                                   q->static_input()->zero_point)
                                     : ", u8 input per row at run time";
      if (q->activation_qmax() != kActivationQmax) ls.scheme += fmt::format(" (reduced range 0..{})", q->activation_qmax());
    } else if (const WeightFormat f = parse_weight_format(ls.format, l->name); f.traits->grouped) {
      ls.scheme = fmt::format("{}-bit codes, fp16 scale and minimum per {} inputs, s8 input per row at run time",
                              f.traits->weight_bits, f.group_size);
    } else if (const SparseLinearWeights* sparse = sparse_weights_of(*l)) {
      ls.scheme = fmt::format("{} of {} weights kept ({:.2f}% dense), fp32 kernel", format_count(sparse->nonzeros()),
                              format_count(l->out_features() * l->in_features()), 100.0 * sparse->density());
    } else if (ls.format == "f16") {
      ls.scheme = "fp16 weights widened in the multiply";
    }
    s.linears.push_back(std::move(ls));
  }
  return s;
}

nlohmann::json model_summary_json(const ModelSummary& s) {
  const ModelInfo& i = s.info;
  nlohmann::json groups = nlohmann::json::object();
  for (const auto& [name, n] : s.groups) groups[name] = n;
  nlohmann::json labels = nlohmann::json::object();
  for (const auto& [id, name] : i.id2label) labels[std::to_string(id)] = name;
  nlohmann::json linears = nlohmann::json::array();
  for (const auto& l : s.linears)
    linears.push_back({{"name", l.name}, {"role", l.role}, {"format", l.format}, {"scheme", l.scheme},
                       {"shape", {l.out_features, l.in_features}}, {"bytes", l.bytes}, {"parts", l.parts}});
  return {{"model_dir", s.model_dir},
          {"weights_file", i.source},
          {"weights_format", i.weights_format},
          {"architecture", i.architecture},
          {"has_classifier", i.has_classifier},
          {"num_labels", i.num_labels},
          {"id2label", i.has_classifier ? labels : nlohmann::json::object()},
          {"config", s.config},
          {"parameters", s.parameters},
          {"parameter_groups", groups},
          {"stored_tensors", i.stored_tensors},
          {"unused_tensors", i.unused_tensors},
          {"dtypes", i.stored_dtypes},
          {"weights_file_bytes", i.weights_file_bytes},
          {"word_embeddings", s.embeddings_format},
          {"attention", s.attention},
          {"tied_head", s.tied_head.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.tied_head)},
          {"resident_bytes", s.resident_bytes},
          {"linears", linears}};
}

std::string model_summary_text(const ModelSummary& s) {
  const ModelInfo& i = s.info;
  std::string out = fmt::format("{}\n  architecture  {}\n", s.model_dir, i.architecture);
  if (i.source.empty()) {
    out += "  weights       none stored: sizes below come from config.json\n";
  } else {
    out += fmt::format("  weights       {} ({}, {}, {} tensors", i.source, i.weights_format,
                       format_bytes(i.weights_file_bytes), format_count(i.stored_tensors));
    for (const auto& [dt, n] : i.stored_dtypes) out += fmt::format(", {} {}", format_count(n), dt);
    out += ")\n";
  }
  out += fmt::format("  shape         L={} H={} NH={} FF={} V={} max_positions={}", i.layers, i.hidden_size, i.heads,
                     i.intermediate_size, i.limits.vocab_size, i.limits.max_positions);
  out += i.has_classifier ? fmt::format(" labels={}\n", i.num_labels) : std::string(" (no classification head)\n");
  // A structurally pruned model's layers differ; NH and FF above are the sizes it was pruned from.
  if (!i.layer_heads.empty()) out += fmt::format("  heads         {} per layer\n", fmt::join(i.layer_heads, " "));
  if (!i.layer_intermediate_sizes.empty())
    out += fmt::format("  ffn neurons   {} per layer\n", fmt::join(i.layer_intermediate_sizes, " "));
  out += s.resident_bytes > 0
             ? fmt::format("  parameters    {} ({} in memory)\n", format_count(s.parameters), format_bytes(s.resident_bytes))
             : fmt::format("  parameters    {} ({} as fp32)\n", format_count(s.parameters), format_bytes(s.parameters * 4));
  for (const auto& [name, n] : s.groups)
    out += fmt::format("    {:<14}{:>12}  {:5.1f}%\n", name, format_count(n),
                       100.0 * static_cast<double>(n) / static_cast<double>(s.parameters));
  if (!s.embeddings_format.empty()) out += fmt::format("  embeddings    {}\n", s.embeddings_format);
  if (!s.attention.empty()) out += fmt::format("  attention     {}\n", s.attention);
  if (s.tied_head == "int8-dynamic")
    out += "  lm_head       tied: the int8 rows on the int8 GEMM, activations int8 per row at run time\n";
  else if (!s.tied_head.empty())
    out += "  lm_head       tied: the table's values in fp32\n";
  if (!s.linears.empty()) {
    out += fmt::format("  linears       {}, by format:", s.linears.size());
    std::map<std::string, int64_t> by_format;
    for (const auto& l : s.linears) ++by_format[l.format];
    for (const auto& [f, n] : by_format) out += fmt::format(" {} {}", n, f);
    out += "\n";
    // A quantized model lists every Linear's scheme; an fp32 one has nothing to tell apart.
    if (by_format.size() > 1 || !by_format.count("f32"))
      for (const auto& l : s.linears)
        out += l.scheme.empty() ? fmt::format("    {:<42} {}\n", l.name, l.format)
                                : fmt::format("    {:<42} {:<13} {}\n", l.name, l.format, l.scheme);
  }
  if (!i.unused_tensors.empty()) {
    out += fmt::format("  {} stored tensors are not used by this architecture:\n", i.unused_tensors.size());
    for (const auto& name : i.unused_tensors) out += "    " + name + "\n";
  }
  return out;
}

}  // namespace squish
