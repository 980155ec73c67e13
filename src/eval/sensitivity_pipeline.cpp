#include "eval/sensitivity_pipeline.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/file_util.h"
#include "core/human_format.h"
#include "core/progress.h"
#include "core/staged_directory.h"
#include "eval/eval_pipeline.h"
#include "eval/quantize_pipeline.h"
#include "eval/run_header.h"
#include "model/load_model.h"

namespace squish {
namespace {

// The JSON header of a safetensors file is ~100–200 bytes a tensor; quantized Linears store three
// tensors a module where fp32 stores one, and the plan adds a line a Linear.
constexpr int64_t kHeaderBytesPerTensor = 256;

}  // namespace

SensitivitySizes sensitivity_sizes(SequenceModel& model, const SensitivityOptions& options) {
  SensitivitySizes sizes;
  const std::vector<SensitivityUnit> units = sensitivity_units(model, options.granularity, options.embeddings);
  std::map<std::string, const Linear*> by_name;
  for (const Linear* l : model.linears()) by_name[l->name] = l;
  const std::vector<TensorToWrite> stored = model.container_tensors();
  int64_t unit_bytes_now = 0;
  const EmbeddingTable& e = model.mutable_word_embeddings();
  for (const SensitivityUnit& u : units) {
    std::vector<int64_t> bytes;
    for (int bits : options.bits) {
      int64_t b = 0;
      if (u.layer < 0) {
        b = embedding_stored_bytes(embedding_format_for_bits(bits, options.group_size), e.rows(), e.cols());
      } else {
        const WeightFormat f = parse_weight_format(linear_format_for_bits(bits, options.group_size), u.name);
        for (const std::string& name : u.linears)
          b += f.traits->stored_bytes(by_name.at(name)->out_features(), by_name.at(name)->in_features(), f.group_size);
      }
      bytes.push_back(b);
    }
    sizes.stored_bytes.push_back(std::move(bytes));
    if (u.layer < 0) unit_bytes_now += payload_bytes(e.stored("embeddings"));
    for (const std::string& name : u.linears) {
      const Linear& l = *by_name.at(name);
      unit_bytes_now += payload_bytes(l.weights->stored_rows(0, l.out_features()));
    }
  }
  sizes.fixed_bytes =
      payload_bytes(stored) - unit_bytes_now + 3 * kHeaderBytesPerTensor * static_cast<int64_t>(stored.size());
  std::set<std::string> in_units;
  for (const SensitivityUnit& u : units) in_units.insert(u.linears.begin(), u.linears.end());
  for (const Linear* l : model.linears()) {
    if (in_units.count(l->name)) continue;
    sizes.fixed_weights += l->out_features() * l->in_features();
    sizes.fixed_weight_bytes += payload_bytes(l->weights->stored_rows(0, l->out_features()));
  }
  return sizes;
}

int64_t smallest_planned_bytes(const SensitivitySizes& sizes) {
  int64_t bytes = sizes.fixed_bytes;
  for (const std::vector<int64_t>& widths : sizes.stored_bytes)
    bytes += *std::min_element(widths.begin(), widths.end());
  return bytes;
}

SensitivityRun measure_model_sensitivity(SequenceModel& model, const SensitivityRequest& request,
                                         CalibrationSet calibration, SensitivitySizes sizes) {
  SensitivityRun run;
  run.request = request;
  run.calibration = std::move(calibration);
  run.sizes = std::move(sizes);
  run.model_name = std::filesystem::path(request.model_dir).lexically_normal().filename().string();
  if (run.model_name.empty())
    run.model_name = std::filesystem::path(request.model_dir).parent_path().filename().string();
  run.model = planned_model(model);
  run.parameters = model.parameter_count();
  run.fp32_bytes = run.parameters * static_cast<int64_t>(sizeof(float));
  {
    const bool shown = request.progress;
    ProgressBar forward("sensitivity: reruns", shown ? static_cast<int64_t>(run.calibration.indices.size()) : 0,
                        "examples");
    std::optional<ProgressBar> compare;
    const int64_t cells = static_cast<int64_t>(run.sizes.stored_bytes.size() * request.options.bits.size());
    SensitivityProgress progress;
    progress.on_batch = [&](int64_t n) { forward.advance(n); };
    progress.on_similarity = [&] {
      if (!compare) {
        forward.finish();
        compare.emplace("sensitivity: " + std::string(similarity_method_name(request.options.method)),
                        shown ? cells : 0, "comparisons");
      }
      compare->advance(1);
    };
    run.result = measure_sensitivity(model, run.calibration.batches, request.options, progress);
    forward.finish();
    if (compare) compare->finish();
  }
  return run;
}

CalibrationSet sensitivity_calibration(const Tokenizer& tokenizer, const SequenceModel& model,
                                       const SensitivityRequest& request) {
  // A causal LM is scored on HellaSwag and calibrates on text the model is not scored on.
  check_task_fits_model(request.task, request.calib_data, model.info(), request.model_dir, "measure");
  if (is_language_modelling_task(request.task))
    return load_text_calibration_set(tokenizer, {request.calib_data, request.calib_split, "", request.data_dir,
                                                 request.calib_size, request.options.seed, request.max_length,
                                                 request.calib_batch_size});
  check_max_length(request.max_length, tokenizer, model.info(), parse_task(request.task) == Task::kMrpc);
  return load_calibration_set(
      tokenizer, {request.task, request.calib_split,
                  request.eval_split.empty() ? default_eval_split(request.task) : request.eval_split, request.data_dir,
                  request.calib_size, request.options.seed, request.max_length, request.calib_batch_size});
}

SensitivityRun run_sensitivity(const SensitivityRequest& request) {
  check_sensitivity_options(request.options);
  StagedDirectory out(request.output_dir);
  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(request.model_dir);
  const std::unique_ptr<SequenceModel> model = load_model(request.model_dir);
  refuse_quantized(*model, request.model_dir, "measure its fp32 source");
  CalibrationSet calibration = sensitivity_calibration(*tokenizer, *model, request);
  SensitivityRun run =
      measure_model_sensitivity(*model, request, std::move(calibration), sensitivity_sizes(*model, request.options));
  write_sensitivity_files(run, out.path());
  out.commit();
  return run;
}

nlohmann::ordered_json sensitivity_json(const SensitivityRun& run) {
  const SensitivityResult& r = run.result;
  const SensitivityOptions& o = r.options;
  nlohmann::ordered_json j = run_header("sensitivity", 1);
  j["source"] = {{"model_dir", run.request.model_dir}, {"model", run.model_name}, {"parameters", run.parameters},
                 {"fp32_bytes", run.fp32_bytes}};
  j["model"] = planned_model_json(run.model);
  j["calibration"] = calibration_json(run.calibration);
  if (!run.calibration.request.eval_split.empty()) j["duplicates"] = duplicates_json(run.calibration);
  j["options"] = {{"method", similarity_method_name(o.method)},
                  {"topk", o.topk},
                  {"bits", o.bits},
                  {"group_size", o.group_size},
                  {"granularity", o.granularity == SensitivityGranularity::kLayer ? "layer" : "linear"},
                  {"compare", o.compare == CompareAt::kLayer ? "layer" : "final"},
                  {"max_tokens", o.max_tokens},
                  {"seed", o.seed},
                  {"rounding", "nearest"}};
  j["fixed_bytes"] = run.sizes.fixed_bytes;
  j["fixed_weights"] = {{"count", run.sizes.fixed_weights}, {"bytes", run.sizes.fixed_weight_bytes}};
  nlohmann::ordered_json units = nlohmann::ordered_json::array();
  for (size_t u = 0; u < r.units.size(); ++u) {
    nlohmann::ordered_json widths = nlohmann::ordered_json::array();
    for (size_t w = 0; w < r.cells[u].size(); ++w) {
      const SensitivityCell& c = r.cells[u][w];
      nlohmann::ordered_json cell = {{"bits", c.bits},
                                     {"format", c.format},
                                     {"bytes", run.sizes.stored_bytes[u][w]},
                                     {"similarity", c.similarity}};
      if (c.head_similarity) cell["head_similarity"] = *c.head_similarity;
      cell["sensitivity"] = c.sensitivity;
      cell["weight_error"] = c.weight_error;
      cell["seconds"] = {
          {"quantize", c.quantize_seconds}, {"run", c.run_seconds}, {"similarity", c.similarity_seconds}};
      widths.push_back(cell);
    }
    units.push_back({{"name", r.units[u].name}, {"layer", r.units[u].layer}, {"linears", r.units[u].linears},
                     {"parameters", r.units[u].parameters}, {"widths", widths}});
  }
  j["units"] = units;
  j["timing"] = {{"sequences", r.sequences},
                 {"valid_tokens", r.valid_tokens},
                 {"compared_rows", r.compared_rows},
                 {"fp32_pass_seconds", r.fp32_seconds},
                 {"tied_head_seconds", r.head_seconds},
                 {"wall_seconds", r.wall_seconds},
                 {"wall_over_fp32_pass", r.fp32_seconds > 0 ? r.wall_seconds / r.fp32_seconds : 0.0}};
  return j;
}

std::string sensitivity_log(const SensitivityRun& run) {
  const SensitivityResult& r = run.result;
  const SensitivityOptions& o = r.options;
  std::string log = fmt::format(
      "squish sensitivity: {} on {} {} ({} examples, {} tokens, max_length {})\n"
      "method {}{}, compare {}, granularity {}, {} compared rows, seed {}\n",
      run.model_name, run.calibration.request.task, run.calibration.request.split, format_count(r.sequences),
      format_count(r.valid_tokens), run.request.max_length, similarity_method_name(o.method),
      o.method == SimilarityMethod::kSvcca ? fmt::format(" (top {})", o.topk) : "",
      o.compare == CompareAt::kLayer                    ? "layer"
      : run.model.architecture.ends_with("ForCausalLM") ? "final"
                                                        : "final [CLS]",
      o.granularity == SensitivityGranularity::kLayer ? "layer" : "linear", format_count(r.compared_rows), o.seed);
  log += fmt::format("fp32 pass over the calibration set: {:.2f} s\n", r.fp32_seconds);
  // Within 100 columns for Linear names too; the seconds of each step are in the JSON.
  log += fmt::format("{:<36} {:>4} {:<12} {:>10} {:>11} {:>12} {:>8}\n", "unit", "bits", "format", "similarity",
                     "sensitivity", "weight error", "seconds");
  for (size_t u = 0; u < r.units.size(); ++u)
    for (const SensitivityCell& c : r.cells[u])
      log += fmt::format("{:<36} {:>4} {:<12} {:>10.6f} {:>11.6f} {:>12.4f} {:>8.2f}\n", r.units[u].name, c.bits,
                         c.format, c.similarity, c.sensitivity, c.weight_error,
                         c.quantize_seconds + c.run_seconds + c.similarity_seconds);
  log += fmt::format("total {:.2f} s = {:.2f} x the fp32 pass ({} widths)\n", r.wall_seconds,
                     r.fp32_seconds > 0 ? r.wall_seconds / r.fp32_seconds : 0.0, o.bits.size());
  return log;
}

void write_sensitivity_files(const SensitivityRun& run, const std::string& dir) {
  write_file_atomic(dir + "/sensitivity.json", sensitivity_json(run).dump(2) + "\n");
  write_file_atomic(dir + "/sensitivity.log", sensitivity_log(run));
}

}  // namespace squish
