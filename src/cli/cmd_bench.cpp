// squish bench: forward throughput of a model (or of random weights for a config.json) on random
// token ids.
#include <map>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/checked_stdout.h"
#include "core/error.h"
#include "core/human_format.h"
#include "core/memory_usage.h"
#include "core/output_file.h"
#include "eval/bench.h"
#include "kernels/cpu_features.h"
#include "model/load_model.h"
#include "quant/calibration.h"
#include "quant/quantize_model.h"
#include "eval/run_header.h"

namespace squish::cli {
namespace {

struct BenchCommandOptions {
  std::string model_dir, config;
  std::string quant = "none";  // none | dynamic | static
  std::string attention;       // empty: the model's own; f32 | int8
  QuantizeOptions quant_options;
  BenchOptions bench;
  bool train = false;
  int threads = 0;
  std::string output;
};

// How many Linears run in each format ("f32": 2, "int8-static": 72).
nlohmann::ordered_json plan_formats(const SequenceModel& model) {
  std::map<std::string, int> formats;
  for (const Linear* l : model.linears()) ++formats[std::string(l->weights->format())];
  return formats;
}

nlohmann::ordered_json bench_json(const BenchCommandOptions& o, const SequenceModel& model, const BenchResult& r) {
  nlohmann::ordered_json j = run_header("bench", 1);
  j["model"] = model.info().source;
  j["model_dir"] = o.model_dir;
  j["config"] = o.config;
  j["random_head"] = model.info().random_head;
  j["quant"] = o.quant;
  j["attention"] = attention_arithmetic_name(model.attention_arithmetic());
  if (o.quant != "none")
    j["quant_options"] = {{"per_channel", o.quant_options.granularity == WeightGranularity::kPerChannel},
                          {"quantize_head", o.quant_options.quantize_head},
                          {"quantize_embeddings", o.quant_options.quantize_embeddings},
                          {"activation_qmax", o.quant_options.activation_qmax}};
  j["formats"] = plan_formats(model);
  j["batch"] = r.batch;
  j["seq"] = r.seq;
  j["runs"] = r.runs;
  j["warmup"] = r.warmup;
  j["seed"] = r.seed;
  j["threads"] = r.threads;
  j["median_ms"] = r.median_ms;
  j["min_ms"] = r.min_ms;
  j["max_ms"] = r.max_ms;
  j["run_ms"] = r.run_ms;
  j["sequences_per_second"] = r.sequences_per_second;
  j["tokens_per_second"] = r.tokens_per_second;
  j["gflops_per_second"] = r.gflops_per_second;
  j["forward_gflop"] = r.forward_gflop;
  j["full_forward_gflop"] = r.full_forward_gflop;
  j["weights_resident_bytes"] = model.resident_bytes();
  j["peak_resident_bytes"] = peak_resident_bytes();
  return j;
}

nlohmann::ordered_json train_bench_json(const BenchCommandOptions& o, const SequenceModel& model,
                                        const TrainBenchResult& r) {
  nlohmann::ordered_json j = run_header("bench", 1);
  j["model"] = model.info().source;
  j["model_dir"] = o.model_dir;
  j["config"] = o.config;
  j["random_head"] = model.info().random_head;
  j["train"] = {{"batch_size", r.batch}, {"sequence_length", r.seq}, {"runs", r.runs}, {"warmup", r.warmup},
                {"threads", r.threads}, {"median_seconds", r.median_seconds},
                {"tokens_per_second", r.tokens_per_second}, {"gflops_per_second", r.gflops_per_second},
                {"step_gflop", r.step_gflop}, {"step_seconds", r.step_seconds}};
  j["peak_resident_bytes"] = peak_resident_bytes();
  return j;
}

void run_train_bench(const BenchCommandOptions& o, const SequenceModel& model, const std::optional<OutputPath>& output) {
  if (o.quant != "none") throw UsageError("--train times fp32 training steps; it takes no --quant");
  if (!o.attention.empty()) throw UsageError("--train times fp32 training steps; it takes no --attention");
  const TrainBenchResult r = bench_train(model, o.bench);
  std::string text = fmt::format("{}{}  training steps  batch {}  seq {}  threads {}  isa {}\n", model.info().source,
                                 model.info().random_head ? " (random classification head)" : "", r.batch, r.seq,
                                 r.threads, isa_name(active_isa()));
  text += fmt::format("  median step {:.3f} s ({} step{} after {} warm-up)\n", r.median_seconds, r.runs,
                      r.runs == 1 ? "" : "s", r.warmup);
  text += fmt::format("  {:.0f} tokens/s  {:.1f} GFLOP/s  ({:.1f} GFLOP per step: forward, backward, AdamW)\n",
                      r.tokens_per_second, r.gflops_per_second, r.step_gflop);
  text += fmt::format("  peak resident {}\n", format_bytes(peak_resident_bytes()));
  if (!(output && output->kind == OutputKind::kStdout)) write_stdout(text);
  if (output) write_output(*output, train_bench_json(o, model, r).dump(2) + "\n");
}

void run_bench(const BenchCommandOptions& o) {
  if (o.model_dir.empty() == o.config.empty()) throw UsageError("bench: give exactly one of --model_dir or --config");
  if (o.quant == "none" && o.quant_options.activation_qmax != kActivationQmax)
    throw UsageError("--reduce_range sets the int8 activation grid: give it with --quant dynamic or static");
  std::optional<OutputPath> output;
  if (!o.output.empty()) output = check_output_path(o.output, "--output");
  // An encoder without a head is timed like --config's random weights: with a seeded random head.
  const std::unique_ptr<SequenceModel> model =
      o.model_dir.empty() ? random_model(o.config, o.bench.seed) : load_model(o.model_dir, {true, o.bench.seed});
  if (o.train) {
    refuse_quantized(*model, o.model_dir, "time training on its fp32 source");
    return run_train_bench(o, *model, output);
  }
  if (o.quant != "none") refuse_quantized(*model, o.model_dir, "bench it without --quant");
  std::string quantized;
  const char* per = o.quant_options.granularity == WeightGranularity::kPerChannel ? "channel" : "tensor";
  if (o.quant == "dynamic")
    quantized = fmt::format("  int8 dynamic W8A32 ({} Linears, weights per {})", quantize_dynamic(*model, o.quant_options), per);
  if (o.quant == "static") {
    // Speed does not depend on the scales' values: min-max ranges of one random batch of the timed shape.
    const TokenBatch calibration = random_token_batch(model->info().limits, o.bench.batch, o.bench.seq, o.bench.seed + 1);
    const CalibrationResult c = calibrate(*model, {&calibration, 1}, ObserverOptions{}, o.quant_options.activation_qmax,
                                          [&](const Linear& l) { return quantized_by_default(l, o.quant_options); });
    quantized = fmt::format("  int8 static W8A8 ({} Linears, weights per {}, random calibration)",
                            quantize_static(*model, o.quant_options, c.input_ranges), per);
  }
  if (!o.attention.empty()) model->set_attention_arithmetic(parse_attention_arithmetic(o.attention, "--attention"));
  const BenchResult r = bench_forward(*model, o.bench);
  const bool int8_attention = model->attention_arithmetic() == AttentionArithmetic::kInt8;
  std::string text =
      fmt::format("{}{}{}{}  batch {}  seq {}  threads {}  isa {}\n", model->info().source,
                  model->info().random_head ? " (random classification head)" : "", quantized,
                  int8_attention ? ", int8 attention" : "", r.batch, r.seq, r.threads, isa_name(active_isa()));
  text += fmt::format("  median {:.2f} ms  min {:.2f} ms  max {:.2f} ms  ({} run{} after {} warm-up)\n", r.median_ms,
                      r.min_ms, r.max_ms, r.runs, r.runs == 1 ? "" : "s", r.warmup);
  text += fmt::format("  {:.1f} sequences/s  {:.0f} tokens/s  {:.1f} GFLOP/s  ({:.2f} GFLOP per forward)\n",
                      r.sequences_per_second, r.tokens_per_second, r.gflops_per_second, r.forward_gflop);
  text += fmt::format("  weights {} in memory, peak resident {}\n", format_bytes(model->resident_bytes()),
                      format_bytes(peak_resident_bytes()));
  if (!(output && output->kind == OutputKind::kStdout)) write_stdout(text);
  if (output) write_output(*output, bench_json(o, *model, r).dump(2) + "\n");
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchCommandOptions>();
  BenchOptions& b = o->bench;
  CLI::App* cmd = app.add_subcommand("bench", "Forward throughput on random token ids");
  cmd->add_option("--model_dir", o->model_dir, "HF model directory (an encoder gets a random classification head)");
  cmd->add_option("--config", o->config, "A config.json: benchmark random weights of that shape");
  cmd->add_option("--batch", b.batch, "Sequences per forward")->capture_default_str()->check(integer_in(1, 1 << 16));
  cmd->add_option("--seq", b.seq, "Tokens per sequence (at most the model's max_position_embeddings)")
      ->capture_default_str()->check(integer_in(1, 1 << 20));
  cmd->add_option("--runs", b.runs, "Timed runs")->capture_default_str()->check(integer_in(1, 1000000000));
  cmd->add_option("--warmup", b.warmup, "Untimed runs first")->capture_default_str()->check(integer_in(0, 1000000000));
  add_seed_option(*cmd, b.seed, "Seed of the random ids and weights");
  cmd->add_option("--quant", o->quant,
                  "none | dynamic (int8 weights, activations quantized per row at run time) | static (int8 "
                  "activations on grids calibrated on a random batch)")
      ->capture_default_str()->check(one_of({"none", "dynamic", "static"}));
  add_quantization_options(*cmd, o->quant_options);
  cmd->add_option("--attention", o->attention,
                  "Attention's products: f32 | int8 (quantize --attention); default: the model's own")
      ->check(one_of({"f32", "int8"}));
  cmd->add_flag("--train", o->train,
                "Time training steps instead (forward with dropout, backward, clipping, AdamW; --runs steps)");
  add_threads_option(*cmd, o->threads);
  add_output_option(*cmd, "--output", o->output, "Write the results as JSON here");
  cmd->callback(command(&o->threads, [o] {
    one_process_only("bench");
    run_bench(*o);
  }));
}

}  // namespace squish::cli
