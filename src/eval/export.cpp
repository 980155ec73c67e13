#include "eval/export.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_util.h"
#include "core/staged_directory.h"
#include "io/hf_config.h"
#include "io/safetensors_writer.h"
#include "model/common/linear_formats.h"
#include "model/load_model.h"

namespace squish {
namespace {

void copy_tokenizer_files(const std::string& source_dir, const StagedDirectory& out) {
  for (const char* name : {"vocab.txt", "tokenizer_config.json", "tokenizer.json", "special_tokens_map.json"}) {
    const std::string src = source_dir + "/" + name;
    if (file_exists(src)) write_file_atomic(out.file(name), read_file(src));
  }
}

// The source's config.json with the model's own per-layer sizes, which a pruned model changed.
std::string config_text_of(const ModelInfo& info) {
  return config_text_with_layer_sizes(read_file(info.config_path), info.layer_heads, info.layer_intermediate_sizes,
                                      info.config_path);
}

}  // namespace

int64_t export_model(const ExportRequest& q) {
  if (q.dtype != "f32" && q.dtype != "f16") throw UsageError("--dtype " + q.dtype + ": expected f32 or f16");
  const DType dtype = q.dtype == "f16" ? DType::kF16 : DType::kF32;
  StagedDirectory out(q.output_dir);
  const std::unique_ptr<SequenceModel> model = load_model(q.model_dir);
  // transformers 5 loads weights in the config's dtype; it must say what the file holds.
  nlohmann::ordered_json config = nlohmann::ordered_json::parse(config_text_of(model->info()));
  const char* torch_dtype = dtype == DType::kF16 ? "float16" : "float32";
  config["dtype"] = torch_dtype;
  if (config.contains("torch_dtype")) config["torch_dtype"] = torch_dtype;
  write_file_atomic(out.file("config.json"), config.dump(2) + "\n");
  copy_tokenizer_files(q.model_dir, out);
  // HF's writers tag the container with its framework; transformers refuses a file without it.
  const std::string weights = out.file("model.safetensors");
  write_safetensors(weights, model->checkpoint_tensors(dtype), {{"format", "pt"}});
  const int64_t bytes = static_cast<int64_t>(std::filesystem::file_size(weights));
  out.commit();
  return bytes;
}

int64_t write_squish_model(const SequenceModel& model, const std::string& source_dir, const StagedDirectory& out) {
  write_file_atomic(out.file("config.json"), config_text_of(model.info()));
  copy_tokenizer_files(source_dir, out);
  const std::string weights = out.file("model.safetensors");
  write_safetensors(weights, model.container_tensors(), container_metadata(model.container_plan()));
  return static_cast<int64_t>(std::filesystem::file_size(weights));
}

}  // namespace squish
