#include "eval/eval_pipeline.h"

#include <chrono>

#include "io/tokenizer/tokenizer.h"
#include "model/load_model.h"

namespace squish {

EvalResult run_eval(const EvalRequest& request) {
  const auto t0 = std::chrono::steady_clock::now();
  const Task task = parse_task(request.task);
  const Split split = parse_split(request.split);
  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(request.model_dir);
  const std::unique_ptr<SequenceModel> model = load_model(request.model_dir);
  const Dataset data = take_subset(load_dataset(task, split, request.data_dir), request.max_samples, request.seed);
  const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EvalResult r = evaluate(*model, *tokenizer, data, request.options);
  r.load_seconds = load_seconds;
  r.wall_seconds += load_seconds;
  return r;
}

}  // namespace squish
