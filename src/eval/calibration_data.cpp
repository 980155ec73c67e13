#include "eval/calibration_data.h"

#include <unordered_map>

#include "core/error.h"
#include "core/file_util.h"
#include "eval/batching.h"
#include "eval/eval_pipeline.h"
#include "eval/runner.h"
#include "eval/tasks.h"
#include "io/datasets/hellaswag.h"
#include "io/datasets/jsonl.h"

namespace squish {
namespace {

std::string example_text(const Example& e) { return e.has_pair ? e.text + "\t" + e.text_pair : e.text; }

bool is_classification_task(const std::string& name) { return name == "sst2" || name == "mrpc" || name == "imdb"; }

Example text_example(int64_t index, std::string text) {
  Example e;
  e.index = index;
  e.text = std::move(text);
  return e;
}

// The texts of a JSONL or plain-text file as calibration examples (index = the text's line number,
// 0-based), refusing a file of HellaSwag items.
Dataset text_file_examples(const std::string& path) {
  const std::string content = read_maybe_gzip(path);
  const std::string name = path.ends_with(".gz") ? path.substr(0, path.size() - 3) : path;
  Dataset d;
  d.path = path;
  int64_t line = 0;
  if (name.ends_with(".jsonl") || name.ends_with(".json")) {
    for_each_jsonl_object(path, content, [&](const nlohmann::json& j, const std::string& where) {
      if (j.contains("endings") || j.contains("choices"))
        throw UsageError("--calib_data " + path + " holds multiple-choice items (" + where +
                         "): HellaSwag's are the evaluation set (" + default_hellaswag_file("<data_dir>") +
                         ", or a --data_file of them), and calibrating on them would leak it; use text the model "
                         "is not scored on (--calib_data imdb, or a JSONL of {\"text\"})");
      if (!j.contains("text") || !j["text"].is_string())
        throw FormatError(where + ": expected an object with a string \"text\"");
      d.examples.push_back(text_example(line++, j["text"].get<std::string>()));
    });
  } else {
    size_t begin = 0;
    while (begin <= content.size()) {
      const size_t end = std::min(content.find('\n', begin), content.size());
      const std::string_view text(content.data() + begin, end - begin);
      if (text.find_first_not_of(" \t\r") != std::string_view::npos)
        d.examples.push_back(text_example(line, std::string(text)));
      ++line;
      begin = end + 1;
    }
  }
  if (d.examples.empty()) throw FormatError(path + ": no texts to calibrate on");
  return d;
}

}  // namespace

void check_calibration_split(const std::string& task, const std::string& calib_split, const std::string& eval_split) {
  if (parse_split(calib_split) != parse_split(eval_split)) return;
  const std::string remedy =
      parse_split(calib_split) == Split::kTrain
          ? "score on " + default_eval_split(task) + " (--split " + default_eval_split(task) + ")"
          : "use --calib_split train";
  throw UsageError("--calib_split " + calib_split + " is the split " + task + " is evaluated on (" +
                   std::string(split_name(parse_split(eval_split))) +
                   "): calibrating on it would score the model on its own calibration data; " + remedy);
}

std::vector<TokenBatch> token_batches(const Tokenizer& tokenizer, const Dataset& data, int max_length, int batch_size,
                                      int64_t* truncated) {
  const std::vector<Encoding> encodings = encode_dataset(tokenizer, data, max_length, truncated);
  std::vector<int64_t> lengths;
  for (const Encoding& e : encodings) lengths.push_back(static_cast<int64_t>(e.input_ids.size()));
  std::vector<TokenBatch> batches;
  for (const auto& bucket : length_buckets(lengths, batch_size))
    batches.push_back(make_token_batch(encodings, bucket, tokenizer.pad_id()));
  return batches;
}

CalibrationSet make_calibration_set(const Tokenizer& tokenizer, const Dataset& examples, const CalibrationRequest& request) {
  CalibrationSet set;
  set.request = request;
  set.path = examples.path;
  for (const Example& e : examples.examples) set.indices.push_back(e.index);
  if (!request.eval_split.empty()) {
    const Dataset evaluation =
        load_dataset(parse_task(request.task), parse_split(request.eval_split), request.data_dir);
    std::unordered_map<std::string, int64_t> eval_index;
    for (const Example& e : evaluation.examples) eval_index.emplace(example_text(e), e.index);
    constexpr size_t kShown = 5;
    for (const Example& e : examples.examples) {
      const auto it = eval_index.find(example_text(e));
      if (it == eval_index.end()) continue;
      ++set.duplicates;
      if (set.duplicate_examples.size() < kShown)
        set.duplicate_examples.push_back({e.index, it->second, example_text(e)});
    }
  }
  set.batches = token_batches(tokenizer, examples, request.max_length, request.batch_size, &set.truncated);
  for (const TokenBatch& b : set.batches)
    for (int32_t len : b.lengths) set.tokens += len;
  return set;
}

CalibrationSet load_calibration_set(const Tokenizer& tokenizer, const CalibrationRequest& request) {
  check_calibration_split(request.task, request.split, request.eval_split);
  const Dataset split = load_dataset(parse_task(request.task), parse_split(request.split), request.data_dir);
  return make_calibration_set(tokenizer, take_subset(split, request.size, request.seed), request);
}

bool is_language_modelling_task(const std::string& task) {
  const TaskSpec* spec = find_task(task);
  return spec && spec->kind == TaskKind::kMultipleChoice;
}

void check_task_fits_model(const std::string& task, const std::string& calib_data, const ModelInfo& info,
                           const std::string& model_dir, const std::string& verb) {
  const bool language_model = is_language_modelling_task(task);
  if (language_model != info.has_lm_head)
    throw UsageError("--model_dir " + model_dir + " is " +
                     (language_model ? "a classifier; --task hellaswag scores causal LMs"
                                     : "a causal LM; " + verb + " it for --task hellaswag"));
  if (!language_model && !calib_data.empty())
    throw UsageError("--calib_data chooses a causal LM's calibration texts; a classifier calibrates on --task " + task +
                     "'s --calib_split");
}

CalibrationSet load_text_calibration_set(const Tokenizer& tokenizer, const CalibrationRequest& given) {
  CalibrationRequest request = given;
  if (request.task.empty()) request.task = "imdb";
  if (request.task == "hellaswag")
    throw UsageError(
        "--calib_data hellaswag: HellaSwag's items here are its validation split, the evaluation set; "
        "calibrate on text the model is not scored on (--calib_data imdb, sst2, mrpc or a text file)");
  const Dataset source = is_classification_task(request.task)
                             ? load_dataset(parse_task(request.task), parse_split(request.split), request.data_dir)
                             : text_file_examples(request.task);
  request.eval_split.clear();
  return make_calibration_set(tokenizer, take_subset(source, request.size, request.seed), request);
}

nlohmann::ordered_json calibration_json(const CalibrationSet& set) {
  const CalibrationRequest& q = set.request;
  return {{"task", q.task},         {"split", q.split},           {"path", set.path},
          {"size", set.indices.size()}, {"seed", q.seed},       {"batch_size", q.batch_size},
          {"max_length", q.max_length}, {"tokens", set.tokens}, {"truncated", set.truncated}, {"indices", set.indices}};
}

nlohmann::ordered_json duplicates_json(const CalibrationSet& set) {
  nlohmann::ordered_json examples = nlohmann::ordered_json::array();
  for (const DuplicateText& d : set.duplicate_examples)
    examples.push_back({{"calibration_index", d.calibration_index}, {"evaluation_index", d.evaluation_index},
                        {"text", d.text}});
  return {{"evaluation_split", set.request.eval_split}, {"count", set.duplicates}, {"examples", examples}};
}

}  // namespace squish
