#include "eval/prune_pipeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/communicator.h"
#include "core/elapsed.h"
#include "core/error.h"
#include "core/file_util.h"
#include "core/progress.h"
#include "core/staged_directory.h"
#include "core/threads.h"
#include "eval/batching.h"
#include "eval/export.h"
#include "eval/pruning_report.h"
#include "model/common/sparse_linear_weights.h"
#include "model/common/trainable_classifier.h"
#include "prune/structured.h"

namespace squish {
namespace {

// The trainer's options for one round's fine-tuning.
TrainerOptions round_options(const PruneRequest& q) {
  TrainerOptions o = q.trainer;
  o.epochs = q.ft_epochs_per_round;
  return o;
}

void check_request(const PruneRequest& q) {
  if (q.method != "oneshot" && q.method != "imp") throw UsageError("--method " + q.method + ": expected oneshot or imp");
  if (!q.structure.empty() && q.structure != "heads" && q.structure != "neurons")
    throw UsageError("--structure " + q.structure + ": expected heads or neurons");
  if (!q.structure.empty() && q.method != "oneshot")
    throw UsageError("--structure prunes once (--method oneshot); IMP is unstructured");
  if (q.importance != "magnitude" && q.importance != "first_order")
    throw UsageError("--importance " + q.importance + ": expected magnitude or first_order");
  if (!(q.sparsity >= 0 && q.sparsity < 1)) throw UsageError("--sparsity must be in [0, 1)");
  if (q.num_rounds < 1) throw UsageError("--num_rounds must be at least 1");
}

// Runs a stage, timing it and recording its dev metric.
class StageLog {
 public:
  StageLog(const TrainingSetup& setup, const PruneRequest& q, PruneRunResult& r) : setup_(setup), q_(q), r_(r) {}

  PruneStage& record(std::string name, int round, const TrainableClassifier& model, Clock::time_point start) {
    PruneStage s;
    s.name = std::move(name);
    s.round = round;
    s.dev = evaluate_classifier(setup_, model, q_.eval_batch_size);
    s.seconds = seconds_since(start);
    print_progress_note(fmt::format("{}: dev {} {:.4f}", s.name, s.dev.metric, s.dev.value));
    r_.stages.push_back(std::move(s));
    return r_.stages.back();
  }

  // Fine-tunes the model (mask held, when given) for ft_epochs_per_round epochs; returns the steps run.
  int64_t fine_tune(TrainableClassifier& model, const ParameterBuffer* mask, const TrainerHooks& hooks = {}) {
    const TrainResult t = train_classifier(model, setup_.train, round_options(q_), mask, hooks);
    r_.train_seconds += t.seconds;
    return static_cast<int64_t>(t.steps.size());
  }

 private:
  const TrainingSetup& setup_;
  const PruneRequest& q_;
  PruneRunResult& r_;
};

void prune_unstructured(const PruneRequest& q, PruneRunResult& r, TrainableClassifier& model, ParameterBuffer& mask,
                        StageLog& log) {
  ParameterBuffer& values = model.parameters();
  const std::vector<int> prunable = prunable_tensors(values.layout(), q.scope);
  const ParameterBuffer initial = values;  // θ0: what IMP rewinds to unless --rewind_step
  ParameterBuffer rewind_point = initial;
  const auto prune_to = [&](double target, int round) {
    const Clock::time_point start = Clock::now();
    global_magnitude_prune(mask, values, prunable, target);
    values.apply_mask(mask);
    PruneStage& s = log.record(fmt::format("round {} pruned to {:.1f}%", round, 100 * target), round, model, start);
    s.target_sparsity = target;
    s.sparsity = sparsity_report(mask, prunable);
  };
  const auto fine_tuned = [&](const std::string& name, int round, const TrainerHooks& hooks) {
    const Clock::time_point start = Clock::now();
    const int64_t steps = log.fine_tune(model, &mask, hooks);
    PruneStage& s = log.record(name, round, model, start);
    s.train_steps = steps;
    s.sparsity = sparsity_report(mask, prunable);
    s.target_sparsity = s.sparsity.sparsity();
  };
  if (q.method == "oneshot") {
    prune_to(q.sparsity, 1);
  } else {
    for (int round = 1; round <= q.num_rounds; ++round) {
      TrainerHooks hooks;
      if (round == 1 && q.rewind_step > 0)
        hooks.after_step = [&](const TrainableClassifier& now, int64_t step) {
          if (step == q.rewind_step) rewind_point = now.parameters();
        };
      fine_tuned(fmt::format("round {} fine-tuned", round), round, hooks);
      prune_to(imp_sparsity(q.sparsity, round, q.num_rounds), round);
      values = rewind_point;  // the survivors start again from the rewind point
      values.apply_mask(mask);
    }
  }
  fine_tuned("final (mask fine-tuned)", q.method == "imp" ? q.num_rounds + 1 : 1, {});
  const SparsityReport final_report = sparsity_report(mask, prunable);
  r.final_sparsity = final_report.sparsity();
  r.prunable_weights = final_report.total;
}

// |Σ w·g| over batches of train examples, dropout off (eval/batching's length buckets). Under several
// processes the batches go round robin and each batch's scores are added in batch order, as one
// process adds them.
StructureScores first_order_scores(const PruneRequest& q, const TrainingSetup& setup, TrainableClassifier& model) {
  const int64_t n = std::min<int64_t>(q.importance_samples, static_cast<int64_t>(setup.train.encodings.size()));
  std::vector<int64_t> lengths;
  for (int64_t i = 0; i < n; ++i)
    lengths.push_back(static_cast<int64_t>(setup.train.encodings[static_cast<size_t>(i)].input_ids.size()));
  const auto buckets = length_buckets(lengths, q.trainer.batch_size);
  const StructureScores zero = model.zero_scores();
  const size_t width = flat_scores(zero).size();
  std::vector<uint64_t> mine;
  std::vector<double> my_scores;
  ParameterBuffer grads(model.parameters().shared_layout());
  for (size_t b = 0; b < buckets.size(); ++b) {
    if (!runs_here(static_cast<int64_t>(b))) continue;
    const LabeledBatch batch = labeled_batch(setup.train, buckets[b]);
    grads.set_zero();
    model.train_forward(batch.tokens, batch.labels, TrainingDropout{});
    model.backward(batch.tokens, grads);
    StructureScores one = zero;
    model.add_first_order_scores(one, grads);
    const std::vector<double> flat = flat_scores(one);
    mine.push_back(b);
    my_scores.insert(my_scores.end(), flat.begin(), flat.end());
  }
  std::vector<std::vector<double>> per_batch(buckets.size());
  gather_items<double>(
      mine, my_scores, [&](uint64_t) { return width; },
      [&](uint64_t b, const double* v) { per_batch[b].assign(v, v + width); });
  StructureScores scores = zero;
  for (const std::vector<double>& batch : per_batch) add_flat_scores(scores, batch);
  return scores;
}

// Removes the structures the scores rank lowest, then fine-tunes the smaller model; `model` becomes it.
void prune_structured(const PruneRequest& q, const TrainingSetup& setup, PruneRunResult& r,
                      std::unique_ptr<TrainableClassifier>& model, StageLog& log) {
  const Clock::time_point start = Clock::now();
  const StructureScores scores =
      q.importance == "magnitude" ? model->magnitude_scores() : first_order_scores(q, setup, *model);
  const Structure which = q.structure == "heads" ? Structure::kHeads : Structure::kNeurons;
  const std::unique_ptr<TrainableClassifier> dense = std::move(model);
  model = dense->shrink(select_structures(scores, q.sparsity, which, structure_multiple(which, dense->head_size())));
  PruneStage& s =
      log.record(fmt::format("{} {} removed by {}", q.sparsity, q.structure, q.importance), 1, *model, start);
  s.target_sparsity = q.sparsity;
  const Clock::time_point ft = Clock::now();
  const int64_t steps = log.fine_tune(*model, nullptr);
  PruneStage& final = log.record("final (fine-tuned)", 1, *model, ft);
  final.train_steps = steps;
  final.target_sparsity = q.sparsity;
  r.layer_heads.clear();
  r.layer_intermediate_sizes.clear();
  const StructureScores sizes = model->zero_scores();
  for (size_t l = 0; l < sizes.heads.size(); ++l) {
    r.layer_heads.push_back(static_cast<int64_t>(sizes.heads[l].size()));
    r.layer_intermediate_sizes.push_back(static_cast<int64_t>(sizes.neurons[l].size()));
  }
  // Timed by the rank that reports them, while the others have finished (timing them all at once on
  // shared cores would measure contention).
  if (!is_output_rank()) return;
  r.dense_bench = bench_forward(*dense->inference_model(), q.bench);
  r.pruned_bench = bench_forward(*model->inference_model(), q.bench);
}

// Every pruned Linear of `model` (a weight with zeros, among the prunable tensors of `parameters`) in the
// sparse format.
void sparsify(SequenceModel& model, const ParameterBuffer& parameters, const PruneScope& scope) {
  std::set<std::string> pruned;
  for (int i : prunable_tensors(parameters.layout(), scope)) {
    const std::string& name = parameters.layout().tensor(i).name;
    if (name.ends_with(".weight")) pruned.insert(name.substr(0, name.size() - 7));
  }
  for (Linear* l : model.mutable_linears())
    if (pruned.count(l->name)) *l = make_linear(l->name, l->role, l->layer, sparse_f32_weights(linear_dequantize(*l)), l->bias, l->parts);
}

}  // namespace

PruneRunResult run_prune(const PruneRequest& q) {
  const Clock::time_point start = Clock::now();
  check_request(q);
  const DType dtype = checkpoint_dtype(q.save_dtype, "--save_dtype");
  StagedDirectory out(q.output_dir);
  PruneRunResult r;
  r.request = q;
  r.threads = num_threads();
  const TrainingSetup setup = prepare_training(q.model_dir, q.task, q.data_dir, q.max_length, q.max_train_samples,
                                               q.max_eval_samples, q.trainer.seed);
  r.data = describe_training_data(setup);
  // Before any training: a rewind point the first round never reaches.
  const int64_t round_steps = steps_to_run(static_cast<int64_t>(setup.train.encodings.size()), round_options(q));
  if (q.rewind_step > round_steps)
    throw UsageError(fmt::format("--rewind_step {}: a round runs {} steps ({} examples, --batch_size {}, "
                                 "--ft_epochs_per_round {}{})",
                                 q.rewind_step, round_steps, setup.train.encodings.size(), q.trainer.batch_size,
                                 q.ft_epochs_per_round,
                                 q.trainer.max_steps > 0 ? fmt::format(", --max_steps {}", q.trainer.max_steps) : ""));
  StageLog log(setup, q, r);
  std::unique_ptr<TrainableClassifier> model = setup.model->clone();
  r.dense_parameters = model->parameters().layout().parameters();
  r.start =
      log.record(setup.new_head ? "start (new head, not fine-tuned)" : "start (dense, as loaded)", 0, *model, start)
          .dev;

  if (q.structure.empty()) {
    ParameterBuffer mask = full_mask(model->parameters().shared_layout());
    prune_unstructured(q, r, *model, mask, log);
  } else {
    prune_structured(q, setup, r, model, log);
  }
  r.final = r.stages.back().dev;
  r.final_parameters = model->parameters().layout().parameters();
  if (!is_output_rank()) return r;  // every rank holds the pruned model; rank 0 writes it

  {
    StagedDirectory dense_dir(out.file("dense"));
    r.dense_file_bytes = write_hf_model(*model->inference_model(), q.model_dir, dense_dir, dtype);
    dense_dir.commit();
  }
  if (q.structure.empty()) {
    const std::unique_ptr<SequenceModel> sparse_model = model->inference_model();
    sparsify(*sparse_model, model->parameters(), q.scope);
    StagedDirectory sparse_dir(out.file("sparse"));
    r.sparse_file_bytes = write_squish_model(*sparse_model, q.model_dir, sparse_dir);
    sparse_dir.commit();
  }
  r.wall_seconds = seconds_since(start);
  write_file_atomic(out.file("pruning.json"), pruning_json(r).dump(2) + "\n");
  out.commit();
  return r;
}

}  // namespace squish
