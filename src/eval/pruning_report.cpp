#include "eval/pruning_report.h"

#include <fmt/format.h>

#include "eval/run_header.h"
#include "eval/training_report.h"

namespace squish {
namespace {

using nlohmann::ordered_json;

ordered_json sparsity_json(const SparsityReport& s) {
  ordered_json tensors = ordered_json::array();
  for (const TensorSparsity& t : s.tensors)
    tensors.push_back({{"name", t.name}, {"layer", t.layer}, {"zeros", t.zeros}, {"total", t.total},
                       {"sparsity", t.sparsity()}});
  return {{"zeros", s.zeros}, {"total", s.total}, {"sparsity", s.sparsity()}, {"tensors", tensors}};
}

ordered_json bench_json(const BenchResult& b) {
  return {{"batch", b.batch}, {"seq", b.seq}, {"runs", b.runs}, {"median_ms", b.median_ms},
          {"sequences_per_second", b.sequences_per_second}, {"gflops_per_second", b.gflops_per_second},
          {"forward_gflop", b.forward_gflop}};
}

}  // namespace

ordered_json pruning_json(const PruneRunResult& r) {
  const PruneRequest& q = r.request;
  ordered_json j = run_header("pruning", 1);
  j["model_dir"] = q.model_dir;
  j["task"] = q.task;
  add_training_data_json(j, r.data, q.data_dir, q.max_train_samples);
  j["method"] = q.structure.empty() ? q.method : "structured";
  j["settings"] = {{"sparsity", q.sparsity},
                   {"num_rounds", q.method == "imp" ? q.num_rounds : 1},
                   {"ft_epochs_per_round", q.ft_epochs_per_round},
                   {"rewind", q.rewind_step > 0 ? fmt::format("step {}", q.rewind_step) : "initial weights"},
                   {"structure", q.structure.empty() ? "none" : q.structure},
                   {"importance", q.importance},
                   {"scope", {{"embeddings", q.scope.embeddings}, {"layer_norms", q.scope.layer_norms},
                              {"biases", q.scope.biases}, {"pooler", q.scope.pooler}, {"classifier", q.scope.classifier}}},
                   {"max_length", q.max_length}};
  j["recipe"] = training_recipe_json(q.trainer);
  j["recipe"]["epochs"] = q.ft_epochs_per_round;
  ordered_json stages = ordered_json::array();
  for (const PruneStage& s : r.stages) {
    ordered_json st = {{"name", s.name}, {"round", s.round}, {"target_sparsity", s.target_sparsity},
                       {"dev", eval_point_json(s.dev)}, {"seconds", s.seconds}, {"train_steps", s.train_steps}};
    if (s.sparsity.total > 0) st["sparsity"] = sparsity_json(s.sparsity);
    stages.push_back(std::move(st));
  }
  j["stages"] = stages;
  j["start"] = eval_point_json(r.start);
  j["final"] = eval_point_json(r.final);
  j["final"]["delta_vs_start"] = r.final.value - r.start.value;
  const bool unstructured = q.structure.empty();
  if (unstructured) j["final"]["sparsity"] = r.final_sparsity;
  // The pruned model a user deploys: the sparse container, or the shrunk dense one.
  const int64_t pruned_file_bytes = unstructured ? r.sparse_file_bytes : r.dense_file_bytes;
  const int64_t fp32_bytes = 4 * r.dense_parameters;
  j["sizes"] = {{"dense_parameters", r.dense_parameters}, {"final_parameters", r.final_parameters}};
  if (unstructured) j["sizes"]["prunable_weights"] = r.prunable_weights;
  j["sizes"]["fp32_bytes"] = fp32_bytes;
  j["sizes"]["dense_file_bytes"] = r.dense_file_bytes;
  if (unstructured) j["sizes"]["sparse_file_bytes"] = r.sparse_file_bytes;
  j["sizes"]["pruned_file_bytes"] = pruned_file_bytes;
  j["sizes"]["compression_vs_fp32"] = static_cast<double>(fp32_bytes) / static_cast<double>(pruned_file_bytes);
  if (!q.structure.empty())
    j["structured"] = {{"layer_heads", r.layer_heads},
                       {"layer_intermediate_sizes", r.layer_intermediate_sizes},
                       {"dense_bench", bench_json(r.dense_bench)},
                       {"pruned_bench", bench_json(r.pruned_bench)},
                       {"speedup", r.pruned_bench.median_ms > 0 ? r.dense_bench.median_ms / r.pruned_bench.median_ms : 0.0}};
  j["train_seconds"] = r.train_seconds;
  j["wall_seconds"] = r.wall_seconds;
  j["threads"] = r.threads;
  return j;
}

std::string pruning_table(const PruneRunResult& r) {
  std::string s = fmt::format("{:<36}  {:>8}  {:>10}  {:>7}  {:>8}\n", "stage", "sparsity", r.start.metric, "steps",
                              "seconds");
  for (const PruneStage& st : r.stages)
    s += fmt::format("{:<36}  {:>8.4f}  {:>10.4f}  {:>7}  {:>8.0f}\n", st.name,
                     st.sparsity.total > 0 ? st.sparsity.sparsity() : st.target_sparsity, st.dev.value, st.train_steps,
                     st.seconds);
  s += fmt::format("final {} {:.4f} vs start {:.4f} ({:+.2f} points)\n", r.final.metric, r.final.value, r.start.value,
                   100 * (r.final.value - r.start.value));
  if (r.request.structure.empty()) {
    s += fmt::format("model.safetensors: dense {:.1f} MB, sparse {:.1f} MB ({} prunable weights, {:.2f}% pruned)\n",
                     static_cast<double>(r.dense_file_bytes) / 1e6, static_cast<double>(r.sparse_file_bytes) / 1e6,
                     r.prunable_weights, 100 * r.final_sparsity);
  } else {
    s += fmt::format("parameters {} -> {}; forward b{}×{}: dense {:.1f} ms, pruned {:.1f} ms ({:.2f}× faster)\n",
                     r.dense_parameters, r.final_parameters, r.dense_bench.batch, r.dense_bench.seq,
                     r.dense_bench.median_ms, r.pruned_bench.median_ms,
                     r.pruned_bench.median_ms > 0 ? r.dense_bench.median_ms / r.pruned_bench.median_ms : 0.0);
  }
  return s;
}

}  // namespace squish
