#include "eval/hellaswag_eval.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/elapsed.h"
#include "core/error.h"
#include "model/load_model.h"

namespace squish {

void check_hellaswag_split(const std::string& split) {
  if (!split.empty() && split != "dev")
    throw UsageError("--split " + split + ": HellaSwag is scored on its validation items (--split dev, the default)");
}

HellaswagRun run_hellaswag_eval(const EvalRequest& q) {
  check_hellaswag_split(q.split);
  const auto t0 = Clock::now();
  HellaswagRun run;
  run.data_file = q.data_file.empty() ? default_hellaswag_file(q.data_dir) : q.data_file;
  run.items = read_hellaswag(run.data_file);
  const auto count = static_cast<int64_t>(run.items.size());
  if (q.max_samples > 0 && q.max_samples < count) {
    run.positions = seeded_permutation(count, q.seed, q.max_samples);
    std::sort(run.positions.begin(), run.positions.end());
    std::vector<MultipleChoiceItem> subset;
    for (int64_t i : run.positions) subset.push_back(run.items[static_cast<size_t>(i)]);
    run.items = std::move(subset);
  } else {
    for (int64_t i = 0; i < count; ++i) run.positions.push_back(i);
  }
  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(q.model_dir);
  const std::unique_ptr<SequenceModel> model = load_model(q.model_dir);
  const double load_seconds = seconds_since(t0);
  run.scores = score_multiple_choice(*model, *tokenizer, run.items, {q.options.batch_size, q.options.progress});

  EvalResult& r = run.result;
  describe_evaluated_model(*model, r);
  r.task = "hellaswag";
  r.split = "dev";
  r.data_path = run.data_file;
  r.examples = static_cast<int64_t>(run.items.size());
  r.labeled = run.scores.labeled == r.examples && r.examples > 0;
  r.metrics.accuracy = run.scores.acc;
  r.score = {"acc_norm",
             run.scores.acc_norm,
             {{"acc_norm", run.scores.acc_norm},
              {"acc", run.scores.acc},
              {"acc_norm_stderr", run.scores.acc_norm_stderr},
              {"acc_stderr", run.scores.acc_stderr}}};
  for (size_t i = 0; i < run.items.size(); ++i) {
    const ChoiceScores& s = run.scores.items[i];
    r.predictions.push_back({run.positions[i], run.items[i].gold, s.pred_norm,
                             std::vector<float>(s.loglikelihoods.begin(), s.loglikelihoods.end())});
  }
  r.real_tokens = r.batch_tokens = run.scores.forwarded_tokens;
  r.load_seconds = load_seconds;
  r.forward_seconds = run.scores.seconds;
  r.examples_per_second = run.scores.seconds > 0 ? static_cast<double>(r.examples) / run.scores.seconds : 0.0;
  r.wall_seconds = seconds_since(t0);
  r.warnings = model_task_warnings(model->info(), "hellaswag");
  return run;
}

std::string hellaswag_predictions_jsonl(const HellaswagRun& run) {
  std::string out;
  for (size_t i = 0; i < run.items.size(); ++i) {
    const ChoiceScores& s = run.scores.items[i];
    nlohmann::json line = {{"index", run.positions[i]}};
    if (run.items[i].ind) line["ind"] = *run.items[i].ind;
    line["loglikelihoods"] = s.loglikelihoods;
    line["pred"] = s.pred;
    line["pred_norm"] = s.pred_norm;
    line["gold"] = run.items[i].gold;
    out += line.dump() + "\n";
  }
  return out;
}

std::optional<ExamplePrediction> parse_hellaswag_prediction(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("pred_norm")) return std::nullopt;
  auto integer = [&](const char* key) {
    if (!j.contains(key) || !(j[key].is_number_integer() || j[key].is_number_unsigned()))
      throw FormatError(fmt::format("{}: expected an integer \"{}\" (a HellaSwag prediction), found {}", where, key,
                                    j.contains(key) ? j[key].dump() : "none"));
    return j[key].get<int64_t>();
  };
  ExamplePrediction p{integer("index"), static_cast<int>(integer("gold")), static_cast<int>(integer("pred_norm")), {}};
  if (!j.contains("loglikelihoods") || !j["loglikelihoods"].is_array() || j["loglikelihoods"].empty())
    throw FormatError(fmt::format("{}: expected \"loglikelihoods\" as a non-empty array of numbers", where));
  for (const auto& v : j["loglikelihoods"]) {
    if (!v.is_number())
      throw FormatError(fmt::format("{}: expected \"loglikelihoods\" as numbers, found {}", where, v.dump()));
    p.logits.push_back(v.get<float>());
  }
  return p;
}

}  // namespace squish
