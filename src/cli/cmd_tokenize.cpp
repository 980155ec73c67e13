// squish tokenize: JSONL {"text", "text_pair"?} on stdin → JSONL {"input_ids", "token_type_ids" (for models
// that take them), "attention_mask"} on stdout, with the tokenizer of the model directory or GGUF file.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/checked_stdout.h"
#include "core/error.h"
#include "core/file_util.h"
#include "io/json_error.h"
#include "io/json_file.h"
#include "io/tokenizer/tokenizer.h"

namespace squish::cli {
namespace {

struct TokenizeOptions {
  std::string model_dir;
  int max_length = 512;
  bool no_special_tokens = false;
};

void run_tokenize(const TokenizeOptions& o) {
  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(o.model_dir);
  const int min_length = o.no_special_tokens ? 1 : tokenizer->min_length(false);
  if (o.max_length < min_length)
    throw UsageError("--max_length " + std::to_string(o.max_length) + ": expected at least " +
                     std::to_string(min_length) + " (room for the special tokens)");
  // Ids longer than the model's positions would be refused by every model of this directory. Read from the
  // JSON itself: a tokenizer needs no model squish can load beside it.
  const std::string config = o.model_dir + "/config.json";
  if (file_exists(config)) {
    const nlohmann::json cfg = read_json_object(config);
    const auto positions = cfg.find("max_position_embeddings");
    if (positions != cfg.end() && positions->is_number_integer() && o.max_length > positions->get<int64_t>())
      throw UsageError("--max_length " + std::to_string(o.max_length) + ": expected at most " +
                       std::to_string(positions->get<int64_t>()) + " (the model's max_position_embeddings)");
  }
  std::string line;
  int64_t line_no = 0;
  while (std::getline(std::cin, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json in;
    try {
      in = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw FormatError("stdin:" + std::to_string(line_no) + ": malformed JSON: " + json_error_text(e));
    }
    if (!in.is_object() || !in.contains("text") || !in["text"].is_string())
      throw FormatError("stdin:" + std::to_string(line_no) + ": expected an object with a string \"text\"");
    const bool pair = in.contains("text_pair") && !in["text_pair"].is_null();
    if (pair && !in["text_pair"].is_string())
      throw FormatError("stdin:" + std::to_string(line_no) + ": \"text_pair\" must be a string");
    if (pair && o.no_special_tokens)
      throw UsageError("stdin:" + std::to_string(line_no) +
                       ": --no_special_tokens takes single texts, not a text_pair");
    if (pair && o.max_length < tokenizer->min_length(true))
      throw UsageError("--max_length " + std::to_string(o.max_length) + ": a text pair needs at least " +
                       std::to_string(tokenizer->min_length(true)) + " (stdin:" + std::to_string(line_no) + ")");
    const std::string text = in["text"].get<std::string>();
    Encoding e;
    if (o.no_special_tokens) {
      e.input_ids = tokenizer->encode_ids(text, false);
      if (e.input_ids.size() > static_cast<size_t>(o.max_length)) e.input_ids.resize(static_cast<size_t>(o.max_length));
      e.token_type_ids.assign(e.input_ids.size(), 0);
      e.attention_mask.assign(e.input_ids.size(), 1);
    } else {
      e = pair ? tokenizer->encode_pair(text, in["text_pair"].get<std::string>(), o.max_length)
               : tokenizer->encode(text, o.max_length);
    }
    nlohmann::json out = {{"input_ids", e.input_ids}};
    if (tokenizer->uses_token_type_ids()) out["token_type_ids"] = e.token_type_ids;
    out["attention_mask"] = e.attention_mask;
    write_stdout(out.dump() + "\n");
  }
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto o = std::make_shared<TokenizeOptions>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Tokenize JSONL from stdin exactly like the model's HF tokenizer");
  add_model_dir_option(*cmd, o->model_dir,
                       "Folder with the tokenizer files (vocab.txt, tokenizer.json, vocab.json + merges.txt, or a "
                       ".gguf), or a .gguf file");
  add_max_length_option(*cmd, o->max_length)->description("Truncate to this many tokens (longest_first for pairs)");
  cmd->add_flag("--no_special_tokens", o->no_special_tokens,
                "The text's ids alone, as HF's add_special_tokens=False (single texts only)");
  cmd->callback(command(nullptr, [o] { run_tokenize(*o); }));
}

}  // namespace squish::cli
