// squish perplexity: a causal LM's perplexity on a text corpus by HF's sliding-window recipe
// (eval/perplexity.h), with every scored token's log-probability on request.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/checked_stdout.h"
#include "core/communicator.h"
#include "core/output_file.h"
#include "core/threads.h"
#include "eval/perplexity.h"
#include "eval/run_header.h"
#include "io/datasets/dataset.h"
#include "io/tokenizer/tokenizer.h"
#include "model/load_model.h"

namespace squish::cli {
namespace {

struct PerplexityCommandOptions {
  std::string model_dir, data_file, output, predictions;
  int64_t max_samples = 0;
  uint64_t seed = 42;
  int threads = 0;
  PerplexityOptions options;
};

void run_perplexity(const PerplexityCommandOptions& o) {
  const auto output = o.output.empty() ? std::nullopt : std::optional(check_output_path(o.output, "--output"));
  const auto predictions =
      o.predictions.empty() ? std::nullopt : std::optional(check_output_path(o.predictions, "--predictions"));
  std::vector<std::string> texts = read_text_corpus(o.data_file);
  if (o.max_samples > 0 && o.max_samples < static_cast<int64_t>(texts.size())) {
    std::vector<int64_t> picked = seeded_permutation(static_cast<int64_t>(texts.size()), o.seed, o.max_samples);
    std::sort(picked.begin(), picked.end());
    std::vector<std::string> subset;
    for (int64_t i : picked) subset.push_back(std::move(texts[static_cast<size_t>(i)]));
    texts = std::move(subset);
  }
  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(o.model_dir);
  const std::unique_ptr<SequenceModel> model = load_model(o.model_dir);
  const PerplexityResult r = compute_perplexity(*model, *tokenizer, texts, o.options);
  nlohmann::ordered_json json = run_header("perplexity", 1);
  json["request"] = {{"model_dir", o.model_dir},          {"data_file", o.data_file},
                     {"max_length", r.max_length},        {"stride", r.stride},
                     {"max_samples", o.max_samples},      {"seed", o.seed},
                     {"batch_size", o.options.batch_size}};
  json["model"] = {{"weights_file", model->info().source}, {"architecture", model->info().architecture}};
  json["texts"] = texts.size();
  json["scored_tokens"] = r.scored_tokens;
  json["windows"] = r.windows;
  json["mean_nll"] = r.mean_nll;
  json["perplexity"] = r.perplexity;
  json["timing"] = {{"seconds", r.seconds},
                    {"tokens_per_second", r.seconds > 0 ? static_cast<double>(r.scored_tokens) / r.seconds : 0.0},
                    {"threads", num_threads()},
                    {"processes", world().size()}};
  const bool table_on_stdout =
      !(output && output->kind == OutputKind::kStdout) && !(predictions && predictions->kind == OutputKind::kStdout);
  if (table_on_stdout)
    write_stdout(fmt::format("perplexity {:.4f}  ({} tokens of {} texts, max_length {}, stride {}; {:.1f} s)\n",
                             r.perplexity, r.scored_tokens, texts.size(), r.max_length, r.stride, r.seconds));
  if (output) write_output(*output, json.dump(2) + "\n");
  if (predictions) {
    std::string lines;
    for (size_t i = 0; i < r.texts.size(); ++i)
      lines +=
          nlohmann::json{
              {"index", i}, {"input_ids", r.texts[i].input_ids}, {"token_logprobs", r.texts[i].token_logprobs}}
              .dump() +
          "\n";
    write_output(*predictions, lines);
  }
}

}  // namespace

void add_perplexity_command(CLI::App& app) {
  auto o = std::make_shared<PerplexityCommandOptions>();
  CLI::App* cmd = app.add_subcommand("perplexity", "Perplexity of a causal LM on a text corpus (sliding window)");
  add_model_dir_option(*cmd, o->model_dir, "HF model directory of a causal LM, or a .gguf file");
  cmd->add_option("--data_file", o->data_file, "Text corpus: .txt (one text) or JSONL {\"text\"} (.gz too)")
      ->required();
  cmd->add_option("--max_length", o->options.max_length, "Window length in tokens (0 = the model's positions)")
      ->capture_default_str()
      ->check(integer_in(0, 1 << 20));
  cmd->add_option("--stride", o->options.stride, "Tokens between window starts (0 = --max_length)")
      ->capture_default_str()
      ->check(integer_in(0, 1 << 20));
  add_batch_size_option(*cmd, o->options.batch_size);
  add_max_samples_option(*cmd, o->max_samples);
  add_seed_option(*cmd, o->seed, "Seed of the --max_samples subset");
  add_threads_option(*cmd, o->threads);
  add_output_option(*cmd, "--output", o->output, "Write the results as JSON here");
  add_output_option(*cmd, "--predictions", o->predictions, "Write each text's input_ids and token_logprobs here");
  cmd->callback(command(&o->threads, [o] { run_perplexity(*o); }));
}

}  // namespace squish::cli
