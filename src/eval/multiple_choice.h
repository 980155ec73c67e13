// Zero-shot multiple choice by log-likelihood (HellaSwag), as EleutherAI's lm-evaluation-harness 0.4
// scores it with a causal LM: for each ending, the sum of log p(continuation token | everything
// before it), where the harness's _encode_pair splits the tokens (trailing spaces of the context move
// to the continuation; continuation = tokens(context + continuation)[len(tokens(context)):]);
// acc takes the argmax of the sums, acc_norm of the sums divided by each ending's length in
// characters. Faster than the harness without changing a number: an item's endings share its
// context, so the context runs once and each ending continues it as a branch of one sequence
// (kernels/causal_attention.h) instead of four separate sequences.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/datasets/hellaswag.h"
#include "io/tokenizer/tokenizer.h"
#include "model/common/sequence_model.h"

namespace squish {

struct MultipleChoiceOptions {
  int batch_size = 8;    // items per forward pass
  bool progress = true;  // a bar on stderr when it is a terminal
};

struct ChoiceScores {
  std::vector<double> loglikelihoods;  // one per choice
  int pred = -1, pred_norm = -1;       // argmax of the sums, of the sums per character (first on ties)
  int64_t context_tokens = 0, continuation_tokens = 0;
};

struct MultipleChoiceResult {
  std::vector<ChoiceScores> items;  // in the items' order
  int64_t labeled = 0;              // items with a gold choice; the metrics are over these
  double acc = 0, acc_stderr = 0, acc_norm = 0, acc_norm_stderr = 0;
  int64_t forwarded_tokens = 0;  // tokens the model ran (each context once), padding excluded
  int64_t harness_tokens = 0;    // what one sequence per ending would have run
  double seconds = 0;            // tokenizing and forwarding
};

// The token ids of one item's context and of each ending's continuation (_encode_pair). The
// context is the tokenizer's encoding with its default special tokens; an empty one becomes the
// BOS (else EOS) token, as the harness does.
struct EncodedItem {
  std::vector<int32_t> context;
  std::vector<std::vector<int32_t>> continuations;
};
EncodedItem encode_multiple_choice(const Tokenizer& tokenizer, const MultipleChoiceItem& item);

// ConfigError when the model has no LM head; ShapeError naming the item when its context and
// endings do not fit the model's positions.
MultipleChoiceResult score_multiple_choice(SequenceModel& model, const Tokenizer& tokenizer,
                                           const std::vector<MultipleChoiceItem>& items,
                                           const MultipleChoiceOptions& options);

// Characters of a UTF-8 string as Python's len() counts them (code points).
int64_t utf8_length(const std::string& s);

// The harness's mean_stderr: the sample standard deviation (n - 1) over sqrt(n); 0 for n < 2.
double mean_stderr(const std::vector<double>& values);

}  // namespace squish
