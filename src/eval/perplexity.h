// Perplexity of a causal LM by the sliding window of HF's "Perplexity of fixed-length models" guide:
// each text is tokenized whole (the tokenizer's default special tokens: OPT's </s> first), windows of
// max_length tokens start every `stride` tokens, and each window scores only the tokens the previous
// window did not, with the window's earlier tokens as context. Every token after a text's first is
// scored exactly once; perplexity = exp(mean negative log-likelihood over all scored tokens of all
// texts). (The guide weights each window's mean loss by its target count minus one, a small bias
// toward the first window that this count does not copy; with stride = max_length and texts within
// one window the two agree.)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/tokenizer/tokenizer.h"
#include "model/common/sequence_model.h"

namespace squish {

struct PerplexityOptions {
  int max_length = 0;  // window length; 0: the model's positions
  int stride = 0;      // 0: max_length (windows do not overlap)
  int batch_size = 8;  // windows per forward pass
  bool progress = true;
};

struct TextLogprobs {
  std::vector<int32_t> input_ids;
  std::vector<double> token_logprobs;  // log p(input_ids[i + 1] | input_ids[..i] within its window)
};

struct PerplexityResult {
  std::vector<TextLogprobs> texts;
  int64_t scored_tokens = 0, windows = 0;
  double mean_nll = 0, perplexity = 0;
  int max_length = 0, stride = 0;
  double seconds = 0;
};

// UsageError for a stride outside [1, max_length] or max_length over the model's positions;
// ConfigError for a model without an LM head.
PerplexityResult compute_perplexity(SequenceModel& model, const Tokenizer& tokenizer,
                                    const std::vector<std::string>& texts, const PerplexityOptions& options);

// The texts of a .txt file (the whole file is one text) or of a JSONL file ({"text": ...} per
// line); .gz transparently. FormatError naming the file and line.
std::vector<std::string> read_text_corpus(const std::string& path);

}  // namespace squish
