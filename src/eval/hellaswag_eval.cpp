#include "eval/hellaswag_eval.h"

#include <algorithm>

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
  if (q.max_samples > 0 && q.max_samples < static_cast<int64_t>(run.items.size())) {
    std::vector<MultipleChoiceItem> subset;
    std::vector<int64_t> picked = seeded_permutation(static_cast<int64_t>(run.items.size()), q.seed, q.max_samples);
    std::sort(picked.begin(), picked.end());
    for (int64_t i : picked) subset.push_back(run.items[static_cast<size_t>(i)]);
    run.items = std::move(subset);
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
    r.predictions.push_back({static_cast<int64_t>(i), run.items[i].gold, s.pred_norm,
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

}  // namespace squish
