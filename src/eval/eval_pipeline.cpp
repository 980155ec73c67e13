#include "eval/eval_pipeline.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "core/elapsed.h"
#include "core/error.h"
#include "core/human_format.h"
#include "eval/hellaswag_eval.h"
#include "eval/tasks.h"
#include "io/tokenizer/tokenizer.h"
#include "model/load_model.h"

namespace squish {
namespace {

// "SST-2", "sst_2" and "sst2" name one task.
std::string task_key(std::string s) {
  std::string out;
  for (char c : s)
    if (c != '-' && c != '_') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::vector<std::string> model_task_warnings(const ModelInfo& info, const std::string& task) {
  std::vector<std::string> out;
  std::vector<std::string> unused;
  for (const auto& name : info.unused_tensors)
    if (!name.ends_with("position_ids")) unused.push_back(name);  // a buffer transformers recomputes
  if (!unused.empty()) {
    const bool layers = std::any_of(unused.begin(), unused.end(),
                                    [](const std::string& n) { return n.find(".layer.") != std::string::npos; });
    out.push_back(fmt::format("{} holds {} tensor{} the model does not use (e.g. {}){}", info.source, unused.size(),
                              unused.size() == 1 ? "" : "s", unused.front(),
                              layers ? fmt::format("; config.json says num_hidden_layers={}: does it match the weights?",
                                                   info.layers)
                                     : ""));
  }
  if (!info.has_classifier) return out;  // labels and fine-tuning tasks are a classifier's
  if (!info.finetuning_task.empty() && task_key(info.finetuning_task) != task_key(task))
    out.push_back(fmt::format("the model was fine-tuned for '{}' (config.json finetuning_task) but is used on '{}'",
                              info.finetuning_task, task));
  // Named labels (not HF's LABEL_0 defaults) that are not the task's: a model made for another task.
  const std::vector<std::string> expected = label_names(parse_task(task));
  std::vector<std::string> names;
  bool named = info.id2label.size() == expected.size(), same = named;
  for (const auto& [id, name] : info.id2label) {
    names.push_back(name);
    named = named && !name.starts_with("LABEL_");
    const bool known = id >= 0 && id < static_cast<int64_t>(expected.size());
    if (!known || task_key(name) != task_key(expected[static_cast<size_t>(id)])) same = false;
  }
  if (named && !same)
    out.push_back(fmt::format("the model's labels are {} but {}'s are {}: is it a model for another task?",
                              fmt::join(names, "/"), task, fmt::join(expected, "/")));
  return out;
}

std::string truncation_warning(int64_t truncated, int64_t examples, int max_length, const std::string& task,
                               const std::string& what) {
  if (truncated <= 0) return "";
  const double share = 100.0 * static_cast<double>(truncated) / static_cast<double>(examples);
  return fmt::format("{} of {} {} ({:.1f}%) were longer than --max_length {} and were truncated{}",
                     format_count(truncated), format_count(examples), what, share, max_length,
                     task == "imdb" && max_length < 512 ? " (IMDB results are usually reported at --max_length 512)"
                                                        : "");
}

std::string default_eval_split(const std::string& task) {
  const TaskSpec* spec = find_task(task);
  if (!spec) throw UsageError("--task " + task + ": not a task squish scores");
  return std::string(spec->default_split);
}

void require_labeled_split(const std::string& task, const std::string& split, const std::string& command) {
  if (split_is_labeled(parse_task(task), parse_split(split))) return;
  throw UsageError(fmt::format("--split {}: {}'s {} split has no labels (GLUE keeps them private), and {} compares "
                               "scores; score on dev (`squish eval` gives predictions for {})",
                               split, task, split, command, split));
}

EvalResult run_eval(const EvalRequest& request) {
  if (request.task == "hellaswag") return run_hellaswag_eval(request).result;
  const auto t0 = Clock::now();
  const Task task = parse_task(request.task);
  const Split split = parse_split(request.split.empty() ? default_eval_split(request.task) : request.split);
  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(request.model_dir);
  const std::unique_ptr<SequenceModel> model = load_model(request.model_dir);
  const Dataset data = take_subset(load_dataset(task, split, request.data_dir), request.max_samples, request.seed);
  const double load_seconds = seconds_since(t0);
  EvalResult r = evaluate(*model, *tokenizer, data, request.options);
  r.load_seconds = load_seconds;
  r.wall_seconds += load_seconds;
  r.warnings = model_task_warnings(model->info(), request.task);
  if (const std::string w = truncation_warning(r.truncated_examples, r.examples, request.options.max_length,
                                               request.task, "examples");
      !w.empty())
    r.warnings.push_back(w);
  return r;
}

}  // namespace squish
