#include "cli/options.h"

#include <charconv>
#include <cstdio>
#include <set>

#include <fmt/format.h>

#include "core/checked_stdout.h"
#include "core/communicator.h"
#include "core/error.h"
#include "core/threads.h"
#include "kernels/cpu_features.h"

namespace squish::cli {

CLI::Validator integer_in(int64_t lo, int64_t hi) {
  std::string expected = hi == INT64_MAX ? "an integer >= " + std::to_string(lo)
                                         : "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  return CLI::Validator(
      [lo, hi, expected](std::string& text) -> std::string {
        int64_t v = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi)
          return "expected " + expected + ", found '" + text + "'";
        return "";
      },
      expected, "");
}

CLI::Validator real_in(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& s) -> std::string {
        size_t used = 0;
        double v = 0;
        try {
          v = std::stod(s, &used);
        } catch (const std::exception&) {
        }
        if (used != s.size() || !(v >= lo && v <= hi))
          return fmt::format("expected a number in [{}, {}], found {}", lo, hi, s);
        return "";
      },
      fmt::format("REAL in [{}, {}]", lo, hi));
}

CLI::Validator one_of(std::initializer_list<const char*> words) {
  return one_of(std::vector<std::string>(words.begin(), words.end()));
}

CLI::Validator one_of(std::vector<std::string> list) {
  std::string joined;
  for (const auto& w : list) joined += (joined.empty() ? "" : " | ") + w;
  return CLI::Validator(
      [list, joined](std::string& text) -> std::string {
        for (const auto& w : list)
          if (text == w) return "";
        return "expected " + joined + ", found '" + text + "'";
      },
      joined, "");
}

CLI::Option* add_model_dir_option(CLI::App& cmd, std::string& dir, const std::string& what) {
  return cmd.add_option("--model_dir", dir, what)->required();
}

CLI::Option* add_task_option(CLI::App& cmd, std::string& task, std::optional<TaskKind> kind, const std::string& note) {
  // The validator lists the names; the help says what each is.
  std::string help = note;
  for (const TaskSpec& t : task_registry())
    if (!kind || t.kind == *kind)
      help += (help.empty() ? "" : "; ") + std::string(t.name) + ": " + std::string(t.about);
  return cmd.add_option("--task", task, help)->check(one_of(task_names(kind)));
}

void add_data_options(CLI::App& cmd, std::string& task, std::string& split, std::string& data_dir) {
  add_task_option(cmd, task, std::nullopt, "a classifier's task, or hellaswag for a causal LM")->required();
  cmd.add_option("--split", split, "dev | test | train (default dev; imdb: test)")
      ->check(one_of({"dev", "test", "train"}));
  cmd.add_option("--data_dir", data_dir, "Folder holding glue/ and imdb/")->capture_default_str();
}

CLI::Option* add_max_length_option(CLI::App& cmd, int& max_length) {
  // The upper bound is the model's max_position_embeddings, checked once the model is known.
  return cmd.add_option("--max_length", max_length, "Truncate token sequences to this length")
      ->capture_default_str()->check(integer_in(1, 1 << 20));
}

CLI::Option* add_batch_size_option(CLI::App& cmd, int& batch_size, const std::string& aliases) {
  return cmd.add_option("--batch_size" + aliases, batch_size, "Sequences per forward pass")->capture_default_str()
      ->check(integer_in(1, 1 << 16));
}

CLI::Option* add_max_samples_option(CLI::App& cmd, int64_t& max_samples) {
  return cmd.add_option("--max_samples", max_samples, "Use a seeded random subset of this size (0 = all)")
      ->capture_default_str()->check(integer_in(0));
}

CLI::Option* add_seed_option(CLI::App& cmd, uint64_t& seed, const std::string& what) {
  return cmd.add_option("--seed", seed, what)->capture_default_str()->check(integer_in(0));
}

CLI::Option* add_threads_option(CLI::App& cmd, int& threads) {
  return cmd.add_option("--threads", threads, "Threads to compute with (0 = all cores)")->capture_default_str()
      ->check(integer_in(0, hardware_threads()));
}

CLI::Option* add_attention_option(CLI::App& cmd, AttentionArithmetic& attention) {
  return cmd
      .add_option_function<std::string>(
          "--attention",
          [&attention](const std::string& name) { attention = parse_attention_arithmetic(name, "--attention"); },
          "Attention's products (QK^T and P.V): f32 | int8 (Q, K per token on symmetric s8, V per channel of a head "
          "(encoders) or per key (causal LMs), probabilities on u8 per query; stored in the model)")
      ->default_str("f32")
      ->check(one_of({"f32", "int8"}));
}

CLI::Option* add_output_option(CLI::App& cmd, const std::string& flag, std::string& path, const std::string& what) {
  return cmd.add_option(flag, path, what + " ('-' = stdout)");
}

void add_quantization_options(CLI::App& cmd, QuantizeOptions& options) {
  // A flag per choice, as PyTorch's and ONNX Runtime's scripts spell them; --per_channel is the default.
  auto* tensor_flag = cmd.add_flag_callback(
      "--per_tensor", [&options] { options.granularity = WeightGranularity::kPerTensor; },
      "One weight scale per tensor (per HF module: Q, K and V each have their own)");
  cmd.add_flag_callback(
         "--per_channel", [&options] { options.granularity = WeightGranularity::kPerChannel; },
         "One weight scale per output channel (the default)")
      ->excludes(tensor_flag);
  cmd.add_flag("--quantize_head", options.quantize_head,
               "Also quantize the pooler and classifier, or a causal LM's head (a tied one as the int8 rows of "
               "--quantize_embeddings)");
  cmd.add_flag("--quantize_embeddings", options.quantize_embeddings,
               "Also store the word embeddings int8 per row (dequantized on gather)");
  cmd.add_flag_callback(
      "--reduce_range", [&options] { options.activation_qmax = kReducedActivationQmax; },
      "Activations on 7 bits (0..127), stored in the model: exact on oneDNN's faster AVX2 int8 kernel");
}

void add_observer_options(CLI::App& cmd, ObserverOptions& options) {
  cmd.add_option_function<std::string>(
         "--observer", [&options](const std::string& name) { options.kind = parse_observer(name); },
         "minmax | moving_average | percentile | mse | entropy (default minmax)")
      ->check(one_of({"minmax", "moving_average", "percentile", "mse", "entropy"}));
  cmd.add_option("--percentile", options.percentile, "With --observer percentile: keep this percentile of each tail")
      ->capture_default_str()->check(real_in(50.0, 100.0));
  cmd.add_option("--bins", options.bins, "Histogram bins per side of zero (percentile, mse, entropy)")
      ->capture_default_str()->check(integer_in(128, 16384));
}

void add_calibration_options(CLI::App& cmd, std::string& split, int64_t& size, int& batch_size) {
  cmd.add_option("--calib_split", split, "Split calibration examples come from (never the evaluated one)")
      ->capture_default_str()->check(one_of({"train", "dev", "test"}));
  cmd.add_option("--calib_size", size, "Calibration examples (a seeded random subset of --calib_split)")
      ->capture_default_str()->check(integer_in(1));
  cmd.add_option("--calib_batch_size", batch_size, "Sequences per calibration forward")->capture_default_str()
      ->check(integer_in(1, 1 << 16));
}

CLI::Option* add_output_dir_option(CLI::App& cmd, std::string& dir, const std::string& what) {
  return cmd.add_option("--output_dir", dir, what)->required();
}

void refuse_given(const CLI::App& cmd, const std::string& flag, bool does_nothing, const std::string& why) {
  if (does_nothing && cmd.count(flag) > 0) throw UsageError(flag + " " + why);
}

void one_process_only(const std::string& command) {
  if (world().size() > 1)
    throw UsageError(command + " runs as one process: it is not data-parallel yet, and " +
                     std::to_string(world().size()) +
                     " ranks would each redo all of it (docs/distributed.md lists what runs distributed); start it "
                     "without mpirun or srun");
}

std::function<void()> command(const int* threads, std::function<void()> body) {
  return [threads, body = std::move(body)] {
    active_isa();  // a bad SQUISH_ISA is a usage error for every subcommand, not only those that compute
    if (threads) set_num_threads(*threads);
    body();
    flush_stdout();
  };
}

void print_warnings(const std::vector<std::string>& messages) {
  if (!is_output_rank()) return;  // every rank has the same ones
  std::set<std::string> said;
  for (const std::string& m : messages)
    if (said.insert(m).second) std::fprintf(stderr, "squish: warning: %s\n", m.c_str());
}

}  // namespace squish::cli
