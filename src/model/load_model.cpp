#include "model/load_model.h"

#include <filesystem>

#include "core/error.h"
#include "io/gguf.h"
#include "model/bert/bert_config_file.h"
#include "io/json_file.h"
#include "io/model_dir.h"
#include "io/weights_file.h"
#include "model/bert/bert_checkpoint.h"
#include "model/bert/bert_sequence_model.h"
#include "model/common/linear_formats.h"
#include "model/llama/llama_checkpoint.h"
#include "model/llama/llama_sequence_model.h"
#include "model/opt/opt_checkpoint.h"
#include "model/opt/opt_sequence_model.h"

namespace squish {
namespace {

// config.json's model_type; ConfigError naming the file when it is absent or not a string.
std::string model_type_of(const nlohmann::json& config, const std::string& path) {
  if (!config.contains("model_type") || !config["model_type"].is_string())
    throw ConfigError(path + ": \"model_type\": expected a string (\"bert\", \"llama\", \"opt\")");
  return config["model_type"].get<std::string>();
}

void describe_weights(const WeightsFile& weights, ModelInfo& info) {
  info.weights_format = weights.format;
  info.weights_file_bytes = weights.file_bytes;
  info.stored_tensors = static_cast<int64_t>(weights.tensors.size());
  for (const auto& [name, t] : weights.tensors) ++info.stored_dtypes[std::string(dtype_name(t.dtype))];
}

std::unique_ptr<SequenceModel> load_gguf_model(const std::string& path) {
  const GgufFile gguf = read_gguf(path);
  ModelInfo info;
  info.weights_format = "gguf";
  info.weights_file_bytes = gguf.file_bytes;
  info.stored_tensors = static_cast<int64_t>(gguf.tensors.size());
  for (const GgufTensor& t : gguf.tensors) ++info.stored_dtypes[std::string(ggml_type_name(t.type))];
  LlamaModel model = llama_from_gguf(gguf, &info.unused_tensors);
  return std::make_unique<LlamaSequenceModel>(std::move(model), std::move(info));
}

// A decoder's HF directory: its config parsed by `parse`, its weights bound by `from_tensors`.
template <class SequenceModelType, class Parse, class FromTensors>
std::unique_ptr<SequenceModel> load_decoder_dir(const std::string& model_dir, const nlohmann::json& config, Parse parse,
                                                FromTensors from_tensors) {
  const std::string config_path = model_dir + "/config.json";
  const auto c = parse(config, config_path);
  const WeightsFile weights = read_weights_file(find_weights_file(model_dir));
  ModelInfo info;
  info.config_path = config_path;
  describe_weights(weights, info);
  const std::optional<ContainerPlan> plan = read_container_plan(weights.metadata, weights.paths.front());
  info.squish_container = plan.has_value();
  auto model = from_tensors(c, weights.tensors, weights.paths.front(), &info.unused_tensors, plan ? &*plan : nullptr);
  return std::make_unique<SequenceModelType>(std::move(model), std::move(info));
}

}  // namespace

std::optional<std::string> gguf_model_file(const std::string& model_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file(model_dir, ec)) {  // another kind of file: require_model_dir says what was expected
    if (is_gguf_file(model_dir)) return model_dir;
    return std::nullopt;
  }
  if (!fs::is_directory(model_dir, ec) || fs::exists(fs::path(model_dir) / "config.json", ec)) return std::nullopt;
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(model_dir, ec))
    if (entry.is_regular_file() && entry.path().extension() == ".gguf") found.push_back(entry.path().string());
  if (found.size() > 1)
    throw IoError(model_dir + ": holds " + std::to_string(found.size()) +
                  " .gguf files and no config.json; give one of them as --model_dir");
  if (found.empty()) return std::nullopt;
  return found.front();
}

void refuse_quantized(const SequenceModel& model, const std::string& model_dir, const std::string& remedy) {
  if (model.info().squish_container && plan_is_quantized(model.container_plan()))
    throw UsageError("--model_dir " + model_dir + " is already quantized by squish; " + remedy);
}

std::unique_ptr<SequenceModel> load_model(const std::string& model_dir, const LoadOptions& options) {
  if (const std::optional<std::string> gguf = gguf_model_file(model_dir)) return load_gguf_model(*gguf);
  require_model_dir(model_dir);
  const nlohmann::json config_json = read_json_object(model_dir + "/config.json");
  const std::string model_type = model_type_of(config_json, model_dir + "/config.json");
  if (model_type == "llama")
    return load_decoder_dir<LlamaSequenceModel>(model_dir, config_json, parse_llama_config, llama_from_tensors);
  if (model_type == "opt")
    return load_decoder_dir<OptSequenceModel>(model_dir, config_json, parse_opt_config, opt_from_tensors);
  const BertConfig config = parse_bert_config_file(model_dir + "/config.json");
  const WeightsFile weights = read_weights_file(find_weights_file(model_dir));
  ModelInfo info;
  info.config_path = model_dir + "/config.json";
  describe_weights(weights, info);
  const std::optional<ContainerPlan> plan = read_container_plan(weights.metadata, weights.paths.front());
  info.squish_container = plan.has_value();
  BertModel model = bert_from_tensors(config, weights.tensors, weights.paths.front(), &info.unused_tensors,
                                      plan ? &*plan : nullptr);
  if (options.random_head_if_missing && !model.weights.has_classifier) {
    add_random_head(model, options.seed);
    info.random_head = true;
  }
  return std::make_unique<BertSequenceModel>(std::move(model), std::move(info));
}

ConfigSummary describe_config(const std::string& model_dir) {
  if (const std::optional<std::string> gguf = gguf_model_file(model_dir)) {
    const std::unique_ptr<SequenceModel> model = load_gguf_model(*gguf);
    return {model->info(), model->parameter_groups()};
  }
  require_model_dir(model_dir);
  const std::string config_path = model_dir + "/config.json";
  const nlohmann::json config_json = read_json_object(config_path);
  const std::string model_type = model_type_of(config_json, config_path);
  if (model_type == "opt") {
    const OptConfig c = parse_opt_config(config_json, config_path);
    ConfigSummary s;
    s.info.config_path = config_path;
    describe_opt(c, s.info);
    s.parameter_groups = opt_parameter_groups(c);
    return s;
  }
  if (model_type == "llama") {
    const LlamaModel shapes = random_llama(parse_llama_config(config_json, config_path), 0);
    ConfigSummary s;
    s.info.config_path = config_path;
    describe_llama(shapes.config, s.info);
    s.parameter_groups = shapes.parameter_groups();
    return s;
  }
  const BertConfig c = parse_bert_config_file(model_dir + "/config.json");
  ConfigSummary s;
  s.info.config_path = model_dir + "/config.json";
  describe_bert(c, c.has_classifier(), s.info);
  // transformers builds BertForMaskedLM without a pooler; the other BERT heads (and BertModel, unless
  // add_pooling_layer=False, which config.json does not record) have one.
  s.parameter_groups = bert_parameter_groups(c, c.architecture != "BertForMaskedLM", s.info.has_classifier);
  return s;
}

std::unique_ptr<SequenceModel> random_model(const std::string& config_path, uint64_t seed) {
  const nlohmann::json config_json = read_json_object(config_path);
  const std::string model_type = model_type_of(config_json, config_path);
  if (model_type == "llama")
    return std::make_unique<LlamaSequenceModel>(random_llama(parse_llama_config(config_json, config_path), seed),
                                                ModelInfo{});
  if (model_type == "opt")
    return std::make_unique<OptSequenceModel>(random_opt(parse_opt_config(config_json, config_path), seed),
                                              ModelInfo{});
  return std::make_unique<BertSequenceModel>(random_bert(parse_bert_config_file(config_path), seed), ModelInfo{});
}

}  // namespace squish
