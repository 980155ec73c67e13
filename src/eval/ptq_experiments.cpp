#include "eval/ptq_experiments.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/staged_directory.h"

namespace squish {
namespace {

EvalRequest eval_request(const PtqExperimentRequest& q, const std::string& split, const std::string& model_dir) {
  EvalRequest e;
  e.model_dir = model_dir;
  e.task = q.task;
  e.split = split;
  e.data_dir = q.data_dir;
  e.seed = q.seed;
  e.max_samples = q.max_samples;
  e.options = q.eval;
  return e;
}

PtqVariant fp32_variant(const PtqExperimentRequest& q, const std::string& split) {
  PtqVariant v;
  v.name = v.mode = "fp32";
  v.model_dir = q.model_dir;
  v.eval = run_eval(eval_request(q, split, q.model_dir));
  return v;
}

// Quantizes into `dir` (inside the staged output), then scores the saved model read back from it.
PtqVariant quantized_variant(const PtqExperimentRequest& q, const std::string& split, const std::string& name,
                             const std::string& mode, ObserverKind observer, int64_t calib_size, const std::string& dir) {
  QuantizeRequest r;
  r.model_dir = q.model_dir;
  r.output_dir = dir;
  r.task = q.task;
  r.data_dir = q.data_dir;
  r.mode = mode;
  r.quant = q.quant;
  r.observer = q.observer;
  r.observer.kind = observer;
  r.calib_size = calib_size;
  r.calib_batch_size = q.calib_batch_size;
  r.attention = q.attention;
  r.eval_split = split;
  r.seed = q.seed;
  r.max_length = q.eval.max_length;
  r.progress = q.eval.progress;
  const QuantizeResult quantized = run_quantize(r);
  PtqVariant v;
  v.name = name;
  v.mode = mode;
  if (mode == "static") {
    v.observer = observer_name(observer);
    v.calib_size = calib_size;
  }
  v.quantize_seconds = quantized.wall_seconds;
  v.calib_tokens = quantized.calibration ? quantized.calibration->tokens : 0;
  v.quantize_warnings = quantized.warnings;
  v.eval = run_eval(eval_request(q, split, dir));
  // The evaluated model is where it will be after the output directory is committed.
  v.model_dir = q.output_dir + "/" + std::filesystem::path(dir).filename().string();
  return v;
}

PtqExperimentResult start(const PtqExperimentRequest& q, const std::string& kind) {
  PtqExperimentResult r;
  r.request = q;
  r.split = q.split.empty() ? default_eval_split(q.task) : q.split;
  if (parse_split(r.split) == Split::kTrain)
    throw UsageError("--split train: the calibration examples come from train; score on dev (or test for imdb)");
  require_labeled_split(q.task, r.split, kind);
  if (q.calib_sizes.empty()) throw UsageError("--calib_sizes: give at least one size");
  // A size beyond the train split calibrates on all of it and is named by what it used.
  const int64_t rows = split_rows(parse_task(q.task), Split::kTrain);
  std::vector<int64_t> used;
  for (int64_t size : q.calib_sizes) {
    const int64_t n = std::min(size, rows);
    if (std::find(used.begin(), used.end(), n) != used.end())
      throw UsageError(fmt::format("--calib_sizes: two sizes calibrate on {} examples{}; give each size once", n,
                                   n == rows ? fmt::format(" ({} train has {})", q.task, rows) : ""));
    if (n < size)
      r.warnings.push_back(fmt::format("--calib_size {}: {} train has {} examples; all of them calibrate (named {})",
                                       size, q.task, rows, n));
    used.push_back(n);
  }
  r.request.calib_sizes = used;
  std::set<ObserverKind> seen;
  for (ObserverKind observer : q.observers)
    if (!seen.insert(observer).second)
      throw UsageError(fmt::format("--observers lists {} twice; give each observer once", observer_name(observer)));
  return r;
}

}  // namespace

PtqExperimentResult run_ptq_compare(const PtqExperimentRequest& request) {
  PtqExperimentResult r = start(request, "ptq-compare");
  const PtqExperimentRequest& q = r.request;
  StagedDirectory out(q.output_dir);
  r.variants.push_back(fp32_variant(q, r.split));
  r.variants.push_back(quantized_variant(q, r.split, "dynamic", "dynamic", q.observer.kind, q.calib_sizes.front(),
                                         out.file("dynamic")));
  r.variants.push_back(quantized_variant(q, r.split, "static", "static", q.observer.kind, q.calib_sizes.front(),
                                         out.file("static")));
  out.commit();
  return r;
}

PtqExperimentResult run_calib_ablation(const PtqExperimentRequest& request) {
  PtqExperimentResult r = start(request, "calib-ablation");
  const PtqExperimentRequest& q = r.request;
  StagedDirectory out(q.output_dir);
  r.variants.push_back(fp32_variant(q, r.split));
  const std::vector<ObserverKind> observers = q.observers.empty() ? std::vector{q.observer.kind} : q.observers;
  for (ObserverKind observer : observers)
    for (int64_t size : q.calib_sizes) {
      const std::string name = std::string(observer_name(observer)) + "-" + std::to_string(size);
      r.variants.push_back(quantized_variant(q, r.split, name, "static", observer, size, out.file(name)));
    }
  out.commit();
  return r;
}

}  // namespace squish
