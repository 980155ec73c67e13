#include "eval/eval_pipeline.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "core/elapsed.h"
#include "core/human_format.h"
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

std::vector<std::string> misleading_setups(const ModelInfo& info, const EvalRequest& q, const EvalResult& r) {
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
  if (!info.finetuning_task.empty() && task_key(info.finetuning_task) != task_key(q.task))
    out.push_back(fmt::format("the model was fine-tuned for '{}' (config.json finetuning_task) but is evaluated on '{}'",
                              info.finetuning_task, q.task));
  if (r.truncated_examples > 0) {
    const double share = 100.0 * static_cast<double>(r.truncated_examples) / static_cast<double>(r.examples);
    out.push_back(fmt::format("{} of {} examples ({:.1f}%) were longer than --max_length {} and were truncated{}",
                              format_count(r.truncated_examples), format_count(r.examples), share, q.options.max_length,
                              q.task == "imdb" && q.options.max_length < 512
                                  ? " (IMDB results are usually reported at --max_length 512)"
                                  : ""));
  }
  return out;
}

}  // namespace

EvalResult run_eval(const EvalRequest& request) {
  const auto t0 = Clock::now();
  const Task task = parse_task(request.task);
  const Split split = parse_split(request.split);
  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(request.model_dir);
  const std::unique_ptr<SequenceModel> model = load_model(request.model_dir);
  const Dataset data = take_subset(load_dataset(task, split, request.data_dir), request.max_samples, request.seed);
  const double load_seconds = seconds_since(t0);
  EvalResult r = evaluate(*model, *tokenizer, data, request.options);
  r.load_seconds = load_seconds;
  r.wall_seconds += load_seconds;
  r.warnings = misleading_setups(model->info(), request, r);
  return r;
}

}  // namespace squish
