// squish prune: one-shot or iterative magnitude pruning with rewinding and fine-tuning, or
// structured removal of heads / FFN neurons; saves the pruned model dense (HF) and sparse (squish).
#include <memory>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/run_outputs.h"
#include "cli/training_options.h"
#include "core/checked_stdout.h"
#include "eval/prune_pipeline.h"
#include "eval/pruning_report.h"

namespace squish::cli {
namespace {

struct PruneCommandOptions {
  PruneRequest request;
  bool rewind_to_initial = false;
  int threads = 0;
  RunOutputs outputs;
};

}  // namespace

void add_prune_command(CLI::App& app) {
  auto o = std::make_shared<PruneCommandOptions>();
  PruneRequest& q = o->request;
  q.trainer.lr = 2e-5;
  CLI::App* cmd = app.add_subcommand("prune", "Magnitude pruning (one-shot, IMP with rewinding, or heads/neurons) with fine-tuning");
  add_model_dir_option(*cmd, q.model_dir, "HF model directory: an encoder (a new head is trained) or a classifier");
  add_training_data_options(*cmd, q.task, q.data_dir, q.max_length, q.max_train_samples, q.max_eval_samples,
                            q.save_dtype);
  add_output_dir_option(*cmd, q.output_dir, "Folder for dense/, sparse/ and pruning.json (must not exist)");
  cmd->add_option("--method", q.method, "oneshot | imp")->capture_default_str()->check(one_of({"oneshot", "imp"}));
  cmd->add_option("--sparsity", q.sparsity, "Share of the prunable weights (or of heads/neurons) to remove")
      ->capture_default_str()->check(real_in(0.0, 0.999));
  cmd->add_option("--num_rounds", q.num_rounds, "IMP rounds: sparsity 1 - (1 - s)^(r/R) after round r")
      ->capture_default_str()->check(integer_in(1, 100));
  cmd->add_option("--ft_epochs_per_round", q.ft_epochs_per_round, "Fine-tuning epochs per round and of the final mask")
      ->capture_default_str()->check(integer_in(1, 100));
  auto* initial = cmd->add_flag("--rewind_to_initial", o->rewind_to_initial,
                                "IMP: rewind the survivors to the initial weights (the default)");
  cmd->add_option("--rewind_step", q.rewind_step, "IMP: rewind the survivors to the weights after step K of round 1")
      ->check(integer_in(1))->excludes(initial);
  cmd->add_option("--structure", q.structure, "heads | neurons: remove whole structures and shrink the matrices")
      ->check(one_of({"heads", "neurons"}));
  cmd->add_option("--importance", q.importance, "Structured: magnitude | first_order (|sum w*grad| over train batches)")
      ->capture_default_str()->check(one_of({"magnitude", "first_order"}));
  cmd->add_option("--importance_samples", q.importance_samples, "Structured first_order: train examples scored")
      ->capture_default_str()->check(integer_in(1));
  cmd->add_flag("--prune_embeddings", q.scope.embeddings, "Also prune the embedding tables");
  cmd->add_flag("--prune_layer_norms", q.scope.layer_norms, "Also prune LayerNorm parameters");
  cmd->add_flag("--prune_biases", q.scope.biases, "Also prune the biases of the pruned Linears");
  cmd->add_flag("--prune_pooler", q.scope.pooler, "Also prune the pooler");
  cmd->add_flag("--prune_classifier", q.scope.classifier, "Also prune the classifier");
  add_trainer_options(*cmd, q.trainer);
  add_threads_option(*cmd, o->threads);
  add_run_output_flags(*cmd, o->outputs, "pruning.json");
  cmd->callback(command(&o->threads, [o, cmd] {
    const PruneRequest& q = o->request;
    for (const char* flag : {"--importance", "--importance_samples"})
      refuse_given(*cmd, flag, q.structure.empty(), "scores heads or neurons: it goes with --structure");
    refuse_given(*cmd, "--importance_samples", q.importance != "first_order",
                 "counts the examples first_order scores: it goes with --importance first_order");
    for (const char* flag : {"--num_rounds", "--rewind_step", "--rewind_to_initial"})
      refuse_given(*cmd, flag, q.method != "imp", "is iterative magnitude pruning's: it goes with --method imp");
    check_run_outputs(o->outputs);
    const PruneRunResult r = run_prune(o->request);
    if (summary_on_stdout(o->outputs))
      write_stdout(pruning_table(r) + "wrote " + q.output_dir +
                   (q.structure.empty() ? " (dense/, sparse/" : " (dense/") + ", pruning.json)\n");
    write_run_outputs(o->outputs, o->request.output_dir, "pruning.json");
  }));
}

}  // namespace squish::cli
