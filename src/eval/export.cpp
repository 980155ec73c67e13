#include "eval/export.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_util.h"
#include "core/staged_directory.h"
#include "io/gguf.h"
#include "io/safetensors_writer.h"
#include "io/tokenizer/bpe_loaders.h"
#include "io/tokenizer/bpe_tokenizer_json.h"
#include "model/common/linear_formats.h"
#include "model/load_model.h"

namespace squish {
namespace {

// The source's tokenizer files; a GGUF's tokenizer (in its metadata, when it has one) written as HF's files.
void copy_tokenizer_files(const std::string& source_dir, const StagedDirectory& out) {
  if (const std::optional<std::string> gguf = gguf_model_file(source_dir)) {
    const nlohmann::json metadata = read_gguf(*gguf).metadata;
    if (!metadata.contains("tokenizer.ggml.model")) return;
    const ByteLevelBpeSpec spec = bpe_spec_from_gguf_metadata(metadata, *gguf);
    write_file_atomic(out.file("tokenizer.json"), bpe_tokenizer_json(spec).dump(2) + "\n");
    write_file_atomic(out.file("tokenizer_config.json"), bpe_tokenizer_config(spec).dump(2) + "\n");
    return;
  }
  for (const char* name : {"vocab.txt", "vocab.json", "merges.txt", "tokenizer_config.json", "tokenizer.json",
                           "special_tokens_map.json"}) {
    const std::string src = source_dir + "/" + name;
    if (file_exists(src)) write_file_atomic(out.file(name), read_file(src));
  }
}

// The source's config.json as the model states it (its per-layer sizes, which structured pruning
// changes, already in info.config_text) with its architecture and labels (a trained encoder became
// a classifier).
nlohmann::ordered_json config_of(const ModelInfo& info) {
  nlohmann::ordered_json config = nlohmann::ordered_json::parse(info.config_text);
  config["architectures"] = nlohmann::ordered_json::array({info.architecture});
  if (info.has_classifier) {
    nlohmann::ordered_json id2label = nlohmann::ordered_json::object(), label2id = nlohmann::ordered_json::object();
    for (const auto& [id, label] : info.id2label) {
      id2label[std::to_string(id)] = label;
      label2id[label] = id;
    }
    config["id2label"] = id2label;
    config["label2id"] = label2id;
  }
  return config;
}

// transformers 5 builds every BERT layer with the config's one num_attention_heads and
// intermediate_size (its pruned_heads is gone), so a model whose layers differ has no HF form.
void refuse_shrunk_layers(const ModelInfo& info, const std::string& model_dir) {
  const auto differs = [](const std::vector<int64_t>& sizes, int64_t whole) {
    return std::any_of(sizes.begin(), sizes.end(), [whole](int64_t s) { return s != whole; });
  };
  if (!differs(info.layer_heads, info.heads) && !differs(info.layer_intermediate_sizes, info.intermediate_size)) return;
  throw UsageError(fmt::format(
      "--model_dir {}: structured pruning left its layers {} attention heads and {} feed-forward neurons "
      "(the config says {} and {}); transformers builds every layer with the config's sizes, so no HF "
      "directory can hold this model. squish eval, inspect, compare and quantize read it as it is",
      model_dir,
      info.layer_heads.empty() ? std::to_string(info.heads) : fmt::format("{}", fmt::join(info.layer_heads, "/")),
      info.layer_intermediate_sizes.empty() ? std::to_string(info.intermediate_size)
                                            : fmt::format("{}", fmt::join(info.layer_intermediate_sizes, "/")),
      info.heads, info.intermediate_size));
}

}  // namespace

DType checkpoint_dtype(const std::string& name, const std::string& flag) {
  if (name == "f32") return DType::kF32;
  if (name == "f16") return DType::kF16;
  throw UsageError(flag + " " + name + ": expected f32 or f16");
}

int64_t export_model(const ExportRequest& q) {
  const DType dtype = checkpoint_dtype(q.dtype, "--dtype");
  StagedDirectory out(q.output_dir);
  const std::unique_ptr<SequenceModel> model = load_model(q.model_dir);
  refuse_shrunk_layers(model->info(), q.model_dir);
  const int64_t bytes = write_hf_model(*model, q.model_dir, out, dtype);
  out.commit();
  return bytes;
}

int64_t write_hf_model(const SequenceModel& model, const std::string& source_dir, const StagedDirectory& out,
                       DType dtype) {
  nlohmann::ordered_json config = config_of(model.info());
  // transformers 5 loads weights in the config's dtype; it must say what the file holds.
  const char* torch_dtype = dtype == DType::kF16 ? "float16" : "float32";
  config["dtype"] = torch_dtype;
  if (config.contains("torch_dtype")) config["torch_dtype"] = torch_dtype;
  write_file_atomic(out.file("config.json"), config.dump(2) + "\n");
  copy_tokenizer_files(source_dir, out);
  // HF's writers tag the container with its framework; transformers refuses a file without it.
  const std::string weights = out.file("model.safetensors");
  write_safetensors(weights, model.checkpoint_tensors(dtype), {{"format", "pt"}});
  return static_cast<int64_t>(std::filesystem::file_size(weights));
}

int64_t write_squish_model(const SequenceModel& model, const std::string& source_dir, const StagedDirectory& out) {
  write_file_atomic(out.file("config.json"), config_of(model.info()).dump(2) + "\n");
  copy_tokenizer_files(source_dir, out);
  const std::string weights = out.file("model.safetensors");
  write_safetensors(weights, model.container_tensors(), container_metadata(model.container_plan()));
  return static_cast<int64_t>(std::filesystem::file_size(weights));
}

}  // namespace squish
