#include "eval/compare_pipeline.h"

#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/elapsed.h"
#include "core/error.h"
#include "core/file_util.h"
#include "core/output_file.h"
#include "core/staged_directory.h"
#include "eval/compare_report.h"
#include "eval/eval_pipeline.h"
#include "eval/hellaswag_eval.h"

namespace squish {
namespace {

bool is_int(const nlohmann::json& j) { return j.is_number_integer() || j.is_number_unsigned(); }

ExamplePrediction parse_prediction(const std::string& line, const std::string& where) {
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (auto multiple_choice = parse_hellaswag_prediction(j, where)) return *multiple_choice;
  if (j.is_discarded() || !j.is_object())
    throw FormatError(fmt::format("{}: expected a JSON object {{\"index\", \"label\", \"pred\", \"logits\"}}, found '{}'", where,
                                  line.substr(0, 80)));
  for (const char* key : {"index", "label", "pred"})
    if (!j.contains(key) || !is_int(j[key]))
      throw FormatError(fmt::format("{}: expected an integer \"{}\", found {}", where, key,
                                    j.contains(key) ? j[key].dump() : "none"));
  if (!j.contains("logits") || !j["logits"].is_array() || j["logits"].empty())
    throw FormatError(fmt::format("{}: expected \"logits\" as a non-empty array of numbers", where));
  ExamplePrediction p{j["index"].get<int64_t>(), j["label"].get<int>(), j["pred"].get<int>(), {}};
  for (const auto& v : j["logits"]) {
    if (!v.is_number()) throw FormatError(fmt::format("{}: expected \"logits\" as numbers, found {}", where, v.dump()));
    p.logits.push_back(v.get<float>());
  }
  return p;
}

void check_request(const CompareRequest& q) {
  const bool dirs = !q.reference_dir.empty() || !q.model_dir.empty();
  const bool files = !q.reference_predictions.empty() || !q.model_predictions.empty();
  if (dirs == files)
    throw UsageError("compare: expected either --reference and --model (model directories) or --reference_predictions "
                     "and --model_predictions (files of squish eval --predictions)");
  if (dirs && (q.reference_dir.empty() || q.model_dir.empty()))
    throw UsageError("compare: expected both --reference and --model");
  if (files && (q.reference_predictions.empty() || q.model_predictions.empty()))
    throw UsageError("compare: expected both --reference_predictions and --model_predictions");
  if (dirs && q.task.empty()) throw UsageError("compare: --task is required when comparing model directories");
  if (q.task == "hellaswag") check_hellaswag_split(q.split);
  if (!q.data_file.empty() && q.task != "hellaswag")
    throw UsageError("compare: --data_file is read for --task hellaswag; classification tasks read --data_dir");
  if (files && q.max_samples != 0)
    throw UsageError("compare: --max_samples chooses the examples to evaluate; predictions files already hold theirs");
  if (q.output_dir.empty()) throw UsageError("compare: --output_dir is required");
}

// Accuracy from the predictions themselves (both modes), and the task's metric when the task is known.
// HellaSwag: accuracy is acc_norm's, the task's metric acc_norm with acc beside it.
void score(ComparedModel& m, const std::vector<ExamplePrediction>& predictions, int num_labels, const std::string& task,
           const std::optional<MultipleChoiceAgreement>& multiple_choice, bool reference) {
  if (multiple_choice) {
    const MultipleChoiceAgreement& c = *multiple_choice;
    m.accuracy = reference ? c.reference_acc_norm : c.compressed_acc_norm;
    m.score = TaskScore{
        "acc_norm", m.accuracy, {{"acc_norm", m.accuracy}, {"acc", reference ? c.reference_acc : c.compressed_acc}}};
    return;
  }
  std::vector<int> gold, pred;
  for (const auto& p : predictions) {
    if (p.label < 0) return;
    gold.push_back(p.label), pred.push_back(p.pred);
  }
  const ClassificationMetrics metrics = classification_metrics(confusion_matrix(gold, pred, num_labels));
  m.accuracy = metrics.accuracy;
  if (!task.empty()) m.score = task_score(parse_task(task), metrics);
}

// Every predicted example must be the data set's example of that index with that label, or the two
// files came from another task or split than --task/--split say.
std::map<int64_t, const Example*> check_against_data(const Dataset& data, const std::vector<ExamplePrediction>& rows,
                                                      const std::string& source) {
  std::map<int64_t, const Example*> by_index;
  for (const Example& e : data.examples) by_index[e.index] = &e;
  for (const ExamplePrediction& p : rows) {
    auto it = by_index.find(p.index);
    if (it == by_index.end())
      throw DataError(fmt::format("{}: example {} is not in {} (expected predictions of this task and split)", source,
                                  p.index, data.path));
    if (it->second->label != p.label)
      throw DataError(fmt::format("{}: example {}: expected label {} as in {}, found {}", source, p.index,
                                  it->second->label, data.path, p.label));
  }
  return by_index;
}

EvalRequest eval_request(const CompareRequest& q, const std::string& model_dir) {
  EvalRequest e;
  e.model_dir = model_dir;
  e.task = q.task, e.split = q.split, e.data_dir = q.data_dir, e.data_file = q.data_file;
  e.max_samples = q.max_samples, e.seed = q.seed;
  e.options = q.options;
  return e;
}

// The examples the predictions name, by index: a classification split (the subset evaluated), or
// HellaSwag's items by their position in the file, the context as the text.
Dataset compared_examples(const CompareRequest& q, int64_t subset) {
  if (q.task != "hellaswag")
    return take_subset(load_dataset(parse_task(q.task), parse_split(q.split), q.data_dir), subset, q.seed);
  Dataset data;
  data.path = q.data_file.empty() ? default_hellaswag_file(q.data_dir) : q.data_file;
  const std::vector<MultipleChoiceItem> items = read_hellaswag(data.path);
  for (size_t i = 0; i < items.size(); ++i)
    data.examples.push_back({static_cast<int64_t>(i), items[i].query, "", false, items[i].gold});
  return data;
}

}  // namespace

std::vector<ExamplePrediction> read_predictions_jsonl(const std::string& path) {
  std::istringstream in(read_file(path));
  std::vector<ExamplePrediction> out;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    out.push_back(parse_prediction(line, fmt::format("{}:{}", path, number)));
  }
  if (out.empty()) throw FormatError(fmt::format("{}: expected one prediction per line, found none", path));
  return out;
}

CompareResult run_compare(const CompareRequest& request) {
  const auto t0 = Clock::now();
  CompareRequest q = request;
  if (q.split.empty()) q.split = q.task.empty() || q.task == "hellaswag" ? "dev" : default_eval_split(q.task);
  check_request(q);
  StagedDirectory out(q.output_dir);  // before the work: an existing folder must not cost two evaluations
  CompareResult r;
  r.request = q;
  std::vector<ExamplePrediction> reference, compressed;
  if (!q.reference_dir.empty()) {
    std::error_code ec;
    if (std::filesystem::equivalent(q.reference_dir, q.model_dir, ec))
      r.warnings.push_back(fmt::format("--reference and --model are the same model ({}): every prediction "
                                       "agrees by construction",
                                       q.model_dir));
    for (auto [dir, side, rows, label] : {std::tuple{&q.reference_dir, &r.reference, &reference, "reference"},
                                          std::tuple{&q.model_dir, &r.compressed, &compressed, "compressed"}}) {
      EvalResult e = run_eval(eval_request(q, *dir));
      for (const auto& w : e.warnings) r.warnings.push_back(fmt::format("{}: {}", label, w));
      side->source = *dir;
      side->seconds = e.wall_seconds;
      if (r.id2label.empty()) r.id2label = e.id2label;
      *rows = std::move(e.predictions);
    }
  } else {
    for (auto [file, side, rows] : {std::tuple{&q.reference_predictions, &r.reference, &reference},
                                    std::tuple{&q.model_predictions, &r.compressed, &compressed}}) {
      const auto t = Clock::now();
      *rows = read_predictions_jsonl(*file);
      side->source = *file;
      side->seconds = seconds_since(t);
    }
  }
  r.analysis = analyze_errors(reference, compressed, q.analysis);
  if (q.task == "hellaswag") r.multiple_choice = multiple_choice_agreement(reference, compressed);
  score(r.reference, reference, r.analysis.num_labels, q.task, r.multiple_choice, true);
  score(r.compressed, compressed, r.analysis.num_labels, q.task, r.multiple_choice, false);

  if (!q.task.empty()) {
    // Predictions files keep the data set's own indices whatever subset they cover, so only an
    // evaluation here needs the subset it ran on.
    const int64_t subset = q.reference_dir.empty() ? 0 : q.max_samples;
    const Dataset data = compared_examples(q, subset);
    r.data_path = data.path;
    const auto by_index = check_against_data(data, reference, r.reference.source);
    auto keep = [&](size_t position) {
      const int64_t index = r.analysis.examples[position].index;
      r.texts[index] = *by_index.at(index);
    };
    for (const auto& positions : r.analysis.representative)
      for (size_t p : positions) keep(p);
    for (size_t p : r.analysis.top_flips) keep(p);
  }
  r.wall_seconds = seconds_since(t0);
  write_output_file(out.file("compare.json"), "", compare_json(r).dump(2) + "\n");
  out.commit();
  return r;
}

}  // namespace squish
