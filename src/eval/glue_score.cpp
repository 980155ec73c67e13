#include "eval/glue_score.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <fmt/format.h>

#include "core/elapsed.h"
#include "core/error.h"
#include "core/file_util.h"
#include "eval/eval_pipeline.h"
#include "eval/run_header.h"

namespace squish {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

json read_json(const std::string& path) {
  const json j = json::parse(read_file(path), nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw FormatError(fmt::format("{}: expected a JSON object", path));
  return j;
}

std::string string_at(const json& j, const json::json_pointer& where, const std::string& path) {
  if (!j.contains(where) || !j.at(where).is_string())
    throw FormatError(fmt::format("{}: expected a string at {}", path, where.to_string()));
  return j.at(where).get<std::string>();
}

// "SST-2", "sst_2" and "sst2" name one task, as eval_pipeline reads finetuning_task.
std::string task_key(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c != '-' && c != '_') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string config_task(const std::string& dir) {
  const std::string config = dir + "/config.json";
  if (!file_exists(config)) return "";
  const json j = read_json(config);
  return j.contains("finetuning_task") && j["finetuning_task"].is_string() ? task_key(j["finetuning_task"].get<std::string>())
                                                                           : "";
}

RunFolder describe(const std::string& dir, int depth) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw IoError(fmt::format("{}: expected a model directory or run folder", dir));
  RunFolder f{"fp32", "", dir, false};
  if (const std::string p = dir + "/quantization.json"; file_exists(p)) {
    const json j = read_json(p);
    const std::string mode = string_at(j, "/mode"_json_pointer, p);
    f.method = mode == "plan" ? "plan-" + string_at(j, "/scheme/rounding"_json_pointer, p) : "int8-" + mode;
    f.has_run_json = true;
    f.task = config_task(dir);
    // A quantized copy keeps its source's config; its task is the source's when the config is silent.
    const std::string source = string_at(j, "/source/model_dir"_json_pointer, p);
    if (f.task.empty() && depth < 4 && fs::is_directory(source)) f.task = describe(source, depth + 1).task;
    return f;
  }
  if (const std::string p = dir + "/results.json"; file_exists(p)) {
    const json j = read_json(p);
    if (j.value("schema", "") == "squish.mixed_precision")
      return {"mixed-precision", task_key(string_at(j, "/request/task"_json_pointer, p)), dir + "/model", true};
  }
  if (const std::string p = dir + "/pruning.json"; file_exists(p)) {
    const json j = read_json(p);
    return {"prune-" + string_at(j, "/method"_json_pointer, p), task_key(string_at(j, "/task"_json_pointer, p)),
            dir + "/dense", true};
  }
  if (const std::string p = dir + "/training.json"; file_exists(p)) {
    const json j = read_json(p);
    f.task = task_key(string_at(j, "/task"_json_pointer, p));
    f.has_run_json = true;
    return f;
  }
  f.task = config_task(dir);
  return f;
}

void check_glue_task(const std::string& task, const std::string& path) {
  if (task.empty())
    throw UsageError(fmt::format("{}: cannot tell which GLUE task this model is for (no finetuning_task in config.json and "
                                 "no run JSON naming a task: docs/run_folder.md)", path));
  if (task != "sst2" && task != "mrpc")
    throw UsageError(fmt::format("{}: expected a model for sst2 or mrpc (the GLUE score's tasks), found task '{}'", path, task));
}

GlueTaskResult from_results(const GlueEntry& entry, std::vector<std::string>& warnings) {
  const std::string& p = entry.path;
  const json j = read_json(p);
  if (j.value("schema", "") != "squish.eval")
    throw UsageError(fmt::format("{}: expected the JSON of squish eval --output (schema squish.eval), found schema '{}'", p,
                                 j.value("schema", "")));
  GlueTaskResult t;
  t.path = p;
  t.task = task_key(string_at(j, "/request/task"_json_pointer, p));
  t.split = string_at(j, "/request/split"_json_pointer, p);
  t.model_dir = string_at(j, "/request/model_dir"_json_pointer, p);
  check_glue_task(t.task, p);
  if (!j.contains("metrics")) throw FormatError(fmt::format("{}: expected \"metrics\" (an unlabeled split cannot be scored)", p));
  t.accuracy = j.at("metrics").at("accuracy").get<double>();
  t.f1 = j.at("metrics").at("f1").get<double>();
  t.examples = j.at("data").at("examples").get<int64_t>();
  t.value = t.task == "sst2" ? t.accuracy : t.f1;
  if (t.split != "dev" && t.split != "validation")
    warnings.push_back(fmt::format("{}: scored on the {} split; GLUE scores here are on dev", p, t.split));
  if (j.at("request").value("max_samples", int64_t{0}) != 0)
    warnings.push_back(fmt::format("{}: scored on a subset of {} examples, not the whole dev split", p, t.examples));
  if (!entry.method.empty()) {
    t.method = entry.method;
  } else {
    if (!std::filesystem::is_directory(t.model_dir))
      throw UsageError(fmt::format("{}: its model directory {} is not here to tell the method; name it as METHOD={}", p,
                                   t.model_dir, p));
    t.method = describe(t.model_dir, 0).method;
  }
  return t;
}

GlueTaskResult evaluate_entry(const GlueEntry& entry, const GlueScoreRequest& q, std::vector<std::string>& warnings) {
  const RunFolder f = describe(entry.path, 0);
  if (q.source == GlueSource::kRuns && !f.has_run_json)
    throw UsageError(fmt::format("{}: expected a run folder (quantization.json, results.json, pruning.json or training.json)",
                                 entry.path));
  check_glue_task(f.task, entry.path);
  EvalRequest e;
  e.model_dir = f.model_dir, e.task = f.task, e.split = "dev", e.data_dir = q.data_dir, e.options = q.options;
  const EvalResult r = run_eval(e);
  for (const auto& w : r.warnings) warnings.push_back(fmt::format("{}: {}", entry.path, w));
  GlueTaskResult t;
  t.method = entry.method.empty() ? f.method : entry.method;
  t.task = f.task, t.path = entry.path, t.model_dir = f.model_dir, t.split = "dev";
  t.examples = r.examples, t.accuracy = r.metrics.accuracy, t.f1 = r.metrics.f1;
  t.value = t.task == "sst2" ? t.accuracy : t.f1;
  t.seconds = r.wall_seconds;
  return t;
}

ordered_json optional_number(const std::optional<double>& v) { return v ? ordered_json(*v) : ordered_json(nullptr); }

std::string cell(const std::optional<double>& v) { return v ? fmt::format("{:.4f}", *v) : "-"; }

}  // namespace

RunFolder describe_run_folder(const std::string& dir) { return describe(dir, 0); }

GlueEntry parse_glue_entry(const std::string& text) {
  const size_t eq = text.find('=');
  GlueEntry e = eq == std::string::npos ? GlueEntry{"", text} : GlueEntry{text.substr(0, eq), text.substr(eq + 1)};
  if ((eq != std::string::npos && e.method.empty()) || e.path.empty())
    throw UsageError(fmt::format("glue-score: expected PATH or METHOD=PATH, found '{}'", text));
  return e;
}

std::vector<GlueMethodScore> pair_by_method(const std::vector<GlueTaskResult>& scored) {
  std::vector<GlueMethodScore> out;
  for (const GlueTaskResult& t : scored) {
    if (t.task != "sst2" && t.task != "mrpc")
      throw DataError(fmt::format("{}: expected task sst2 or mrpc, found '{}'", t.path, t.task));
    auto it = std::find_if(out.begin(), out.end(), [&](const GlueMethodScore& m) { return m.method == t.method; });
    if (it == out.end()) it = out.insert(out.end(), GlueMethodScore{t.method, {}, {}, {}});
    std::optional<double>& slot = t.task == "sst2" ? it->sst2_accuracy : it->mrpc_f1;
    if (slot)
      throw DataError(fmt::format("{}: method '{}' already has a {} model; name them apart as METHOD=PATH", t.path, t.method,
                                  t.task));
    slot = t.value;
  }
  for (GlueMethodScore& m : out)
    if (m.sst2_accuracy && m.mrpc_f1) m.glue = (*m.sst2_accuracy + *m.mrpc_f1) / 2.0;
  return out;
}

GlueScoreResult run_glue_score(const GlueScoreRequest& q) {
  const auto t0 = Clock::now();
  if (q.entries.empty()) throw UsageError("glue-score: expected at least one of --models, --runs or --from_results");
  GlueScoreResult r;
  r.request = q;
  for (const GlueEntry& entry : q.entries)
    r.scored.push_back(q.source == GlueSource::kResults ? from_results(entry, r.warnings) : evaluate_entry(entry, q, r.warnings));
  r.methods = pair_by_method(r.scored);
  for (const GlueMethodScore& m : r.methods)
    if (!m.glue)
      r.warnings.push_back(fmt::format("method '{}' has no {} model: no GLUE score for it", m.method,
                                       m.sst2_accuracy ? "mrpc" : "sst2"));
  r.wall_seconds = seconds_since(t0);
  return r;
}

ordered_json glue_score_json(const GlueScoreResult& r) {
  ordered_json j = run_header("glue_score", 1);
  const char* source = r.request.source == GlueSource::kModels ? "models" : r.request.source == GlueSource::kRuns ? "runs" : "results";
  j["request"] = {{"source", source}, {"data_dir", r.request.data_dir}, {"max_length", r.request.options.max_length},
                  {"batch_size", r.request.options.batch_size}};
  j["definition"] = "glue_score = mean of SST-2 dev accuracy and MRPC dev F1 (label 1 positive), per method";
  ordered_json models = ordered_json::array();
  for (const GlueTaskResult& t : r.scored)
    models.push_back({{"method", t.method}, {"task", t.task}, {"path", t.path}, {"model_dir", t.model_dir},
                      {"split", t.split}, {"examples", t.examples},
                      {"metric", {{"name", t.task == "sst2" ? "accuracy" : "f1"}, {"value", t.value}}},
                      {"accuracy", t.accuracy}, {"f1", t.f1}, {"seconds", t.seconds}});
  j["models"] = models;
  ordered_json methods = ordered_json::array();
  for (const GlueMethodScore& m : r.methods)
    methods.push_back({{"method", m.method}, {"sst2_accuracy", optional_number(m.sst2_accuracy)},
                       {"mrpc_f1", optional_number(m.mrpc_f1)}, {"glue_score", optional_number(m.glue)}});
  j["methods"] = methods;
  j["warnings"] = r.warnings;
  j["wall_seconds"] = r.wall_seconds;
  return j;
}

std::string glue_score_table(const GlueScoreResult& r) {
  size_t width = 8;
  for (const GlueMethodScore& m : r.methods) width = std::max(width, m.method.size() + 2);
  std::string s = fmt::format("GLUE score (dev): mean of SST-2 accuracy and MRPC F1\n  {:<{}}{:>14}{:>10}{:>8}\n", "method",
                              width, "SST-2 accuracy", "MRPC F1", "GLUE");
  for (const GlueMethodScore& m : r.methods)
    s += fmt::format("  {:<{}}{:>14}{:>10}{:>8}\n", m.method, width, cell(m.sst2_accuracy), cell(m.mrpc_f1), cell(m.glue));
  return s;
}

}  // namespace squish
