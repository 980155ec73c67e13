// `squish prune` as a library call. From a BERT encoder or classifier and a task:
//  - unstructured, global magnitude over the encoder's Linear weights (prune/mask.h; other tensors
//    by PruneScope):
//      oneshot: prune to --sparsity once, fine-tune with the mask held;
//      imp:     R rounds of (fine-tune, prune the survivors to 1 − (1 − s)^(r/R), rewind the survivors
//               to the initial weights or to those after step K of the first round), then fine-tune
//               the final mask (Chen et al. 2020, "The Lottery Ticket Hypothesis for Pre-trained BERT
//               Networks");
//  - structured (--structure heads|neurons): remove that share of whole heads or FFN neurons by
//    magnitude or first-order importance (prune/structured.h), shrink the matrices, fine-tune, and
//    time the smaller model against the dense one.
// Each stage's dev metric (SST-2/IMDB accuracy, MRPC F1), sparsity (global and per Linear) and time
// are recorded. The output folder, staged and renamed whole:
//   dense/    HF-compatible model directory (transformers loads it; a structured model's config
//             carries squish_layer_sizes, which transformers does not read)
//   sparse/   squish's container with every pruned Linear in the "sparse" format (unstructured only)
//   pruning.json  the stages, sizes and speeds (eval/pruning_report.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/bench.h"
#include "eval/train_pipeline.h"
#include "prune/mask.h"

namespace squish {

struct PruneRequest {
  std::string model_dir, task, output_dir;
  std::string data_dir = "../shared/data";
  std::string method = "oneshot";      // oneshot | imp
  double sparsity = 0.5;               // unstructured: share of prunable weights; structured: of heads/neurons
  int num_rounds = 5;                  // imp
  int64_t ft_epochs_per_round = 1;     // fine-tuning epochs of every round and of the final mask
  int64_t rewind_step = 0;             // imp: 0 rewinds to the initial weights, K > 0 to those after step K
  std::string structure;               // "" (unstructured) | heads | neurons
  std::string importance = "magnitude";  // structured: magnitude | first_order
  int64_t importance_samples = 512;    // first_order: train examples whose gradients score structures
  PruneScope scope;
  int max_length = 128;
  int64_t max_train_samples = 0, max_eval_samples = 0;
  std::string save_dtype = "f32";
  int eval_batch_size = 64;
  BenchOptions bench{.batch = 32, .seq = 128, .runs = 5, .warmup = 1};  // structured: dense vs shrunk speed
  TrainerOptions trainer;              // epochs is set per stage from ft_epochs_per_round
};

// One stage of the run: the start, a pruning step, a fine-tuning, the final model. The dense baseline
// to compare with is the start when it is a fine-tuned classifier, and `squish train` with the same
// recipe when it is an encoder.
struct PruneStage {
  std::string name;        // "start (...)", "round 1 fine-tuned", "round 1 pruned to 29.3%", "final ...", ...
  int round = 0;
  double target_sparsity = 0;
  SparsityReport sparsity; // unstructured
  EvalPoint dev;
  double seconds = 0;
  int64_t train_steps = 0;
};

struct PruneRunResult {
  PruneRequest request;
  TrainingData data;
  std::vector<PruneStage> stages;
  EvalPoint start, final;              // the model as loaded (an encoder: with its untrained new head), the pruned one
  double final_sparsity = 0;           // unstructured: measured global sparsity of the prunable weights
  int64_t prunable_weights = 0;
  int64_t dense_file_bytes = 0, sparse_file_bytes = 0;
  int64_t dense_parameters = 0, final_parameters = 0;
  // structured
  std::vector<int64_t> layer_heads, layer_intermediate_sizes;
  BenchResult dense_bench, pruned_bench;
  double train_seconds = 0, wall_seconds = 0;
  int threads = 0;
};

PruneRunResult run_prune(const PruneRequest& request);

}  // namespace squish
