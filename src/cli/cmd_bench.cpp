// squish bench: forward throughput of a model (or of random weights for a config.json) on random
// token ids.
#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/file_util.h"
#include "core/threads.h"
#include "eval/bench.h"
#include "io/hf_config.h"
#include "kernels/cpu_features.h"
#include "model/bert/bert_checkpoint.h"

namespace squish::cli {
namespace {

struct BenchOptions {
  std::string model_dir, config;
  int64_t batch = 1, seq = 128;
  int runs = 10, warmup = 2, threads = 0;
  uint64_t seed = 42;
  std::string json;
};

void run_bench(const BenchOptions& o) {
  if (o.model_dir.empty() == o.config.empty()) throw UsageError("bench: give exactly one of --model_dir or --config");
  set_num_threads(o.threads);
  const BertModel model = o.model_dir.empty() ? random_bert(parse_bert_config_file(o.config), o.seed)
                                              : load_bert_model(o.model_dir);
  const BenchResult r = bench_forward(model, o.batch, o.seq, o.runs, o.warmup, o.seed);
  std::printf("%s  batch %lld  seq %lld  threads %d  isa %s\n", model.source.c_str(), static_cast<long long>(r.batch),
              static_cast<long long>(r.seq), r.threads, std::string(isa_name(active_isa())).c_str());
  std::printf("  median %.2f ms  min %.2f ms  max %.2f ms  (%d runs)\n", r.median_ms, r.min_ms, r.max_ms, r.runs);
  std::printf("  %.1f sequences/s  %.1f GFLOP/s  (%.2f GFLOP per forward)\n", r.sequences_per_second,
              r.gflops_per_second, r.forward_gflop);
  if (!o.json.empty()) {
    const nlohmann::json j = {{"model", model.source},   {"batch", r.batch},          {"seq", r.seq},
                              {"threads", r.threads},    {"isa", isa_name(active_isa())},
                              {"runs", r.runs},          {"median_ms", r.median_ms},  {"min_ms", r.min_ms},
                              {"max_ms", r.max_ms},      {"run_ms", r.run_ms},
                              {"sequences_per_second", r.sequences_per_second},
                              {"gflops_per_second", r.gflops_per_second}, {"forward_gflop", r.forward_gflop}};
    write_file_atomic(o.json, j.dump(2) + "\n");
  }
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Forward throughput on random token ids");
  cmd->add_option("--model_dir", o->model_dir, "HF model directory");
  cmd->add_option("--config", o->config, "A config.json: benchmark random weights of that shape");
  cmd->add_option("--batch", o->batch, "Sequences per forward")->capture_default_str();
  cmd->add_option("--seq", o->seq, "Tokens per sequence")->capture_default_str();
  cmd->add_option("--runs", o->runs, "Timed runs")->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "Untimed runs first")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the random ids and weights")->capture_default_str();
  add_threads_option(*cmd, o->threads);
  cmd->add_option("--json", o->json, "Write the results as JSON here");
  cmd->callback([o] { run_bench(*o); });
}

}  // namespace squish::cli
