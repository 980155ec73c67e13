// squish tokenize: JSONL {"text", "text_pair"?} on stdin → JSONL {"input_ids", "token_type_ids",
// "attention_mask"} on stdout, with the model's WordPiece tokenizer.
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/checked_stdout.h"
#include "core/file_util.h"
#include "model/load_model.h"
#include "core/error.h"
#include "io/tokenizer/tokenizer.h"
#include "io/json_error.h"

namespace squish::cli {
namespace {

struct TokenizeOptions {
  std::string model_dir;
  int max_length = 512;
};

void run_tokenize(const TokenizeOptions& o) {
  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(o.model_dir);
  if (o.max_length < tokenizer->min_length(false))
    throw UsageError("--max_length " + std::to_string(o.max_length) + ": expected at least " +
                     std::to_string(tokenizer->min_length(false)) + " (room for the special tokens)");
  // Ids longer than the model's positions would be refused by every model of this directory.
  if (file_exists(o.model_dir + "/config.json")) {
    const int64_t positions = describe_config(o.model_dir).info.limits.max_positions;
    if (o.max_length > positions)
      throw UsageError("--max_length " + std::to_string(o.max_length) + ": expected at most " +
                       std::to_string(positions) + " (the model's max_position_embeddings)");
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
    if (pair && o.max_length < tokenizer->min_length(true))
      throw UsageError("--max_length " + std::to_string(o.max_length) + ": a text pair needs at least " +
                       std::to_string(tokenizer->min_length(true)) + " (stdin:" + std::to_string(line_no) + ")");
    const Encoding e = pair ? tokenizer->encode_pair(in["text"].get<std::string>(), in["text_pair"].get<std::string>(), o.max_length)
                            : tokenizer->encode(in["text"].get<std::string>(), o.max_length);
    const nlohmann::json out = {{"input_ids", e.input_ids}, {"token_type_ids", e.token_type_ids}, {"attention_mask", e.attention_mask}};
    write_stdout(out.dump() + "\n");
  }
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto o = std::make_shared<TokenizeOptions>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Tokenize JSONL from stdin exactly like HF's BERT tokenizer");
  add_model_dir_option(*cmd, o->model_dir, "Folder with vocab.txt and tokenizer_config.json");
  add_max_length_option(*cmd, o->max_length)->description("Truncate to this many tokens (longest_first for pairs)");
  cmd->callback(command(nullptr, [o] { run_tokenize(*o); }));
}

}  // namespace squish::cli
