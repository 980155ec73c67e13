#include "model/load_model.h"

#include "core/error.h"
#include "io/hf_config.h"
#include "io/model_dir.h"
#include "io/weights_file.h"
#include "model/bert/bert_checkpoint.h"
#include "model/bert/bert_sequence_model.h"
#include "model/common/linear_formats.h"

namespace squish {

void refuse_quantized(const SequenceModel& model, const std::string& model_dir, const std::string& remedy) {
  if (model.info().squish_container && plan_is_quantized(model.container_plan()))
    throw UsageError("--model_dir " + model_dir + " is already quantized by squish; " + remedy);
}

std::unique_ptr<SequenceModel> load_model(const std::string& model_dir, const LoadOptions& options) {
  require_model_dir(model_dir);
  const BertConfig config = parse_bert_config_file(model_dir + "/config.json");
  const WeightsFile weights = read_weights_file(find_weights_file(model_dir));
  ModelInfo info;
  info.config_path = model_dir + "/config.json";
  info.weights_format = weights.format;
  info.weights_file_bytes = weights.file_bytes;
  info.stored_tensors = static_cast<int64_t>(weights.tensors.size());
  for (const auto& [name, t] : weights.tensors) ++info.stored_dtypes[std::string(dtype_name(t.dtype))];
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
  require_model_dir(model_dir);
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
  return std::make_unique<BertSequenceModel>(random_bert(parse_bert_config_file(config_path), seed), ModelInfo{});
}

}  // namespace squish
