// The input of every sequence model: right-padded token ids with their lengths. Shared by every
// architecture, the evaluation runner and bench, so none of them depends on BERT.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "io/tokenizer/tokenizer.h"

namespace squish {

// Right-padded token sequences. Padding positions hold any valid id; attention ignores them.
struct TokenBatch {
  int64_t batch = 0, tokens = 0;        // B, T
  std::vector<int32_t> input_ids;       // [B*T]
  std::vector<int32_t> token_type_ids;  // [B*T]
  std::vector<int32_t> lengths;         // [B], each in [1, T]
  // Causal models only, empty otherwise: [B*T] branch of each token (kernels/causal_attention.h).
  // 0 is the shared prefix, which comes first; each continuation k >= 1 is a contiguous run that
  // sees the prefix and itself.
  std::vector<int32_t> branch_ids;
};

// What a model accepts: ids below vocab_size, type ids below type_vocab_size, at most max_positions tokens.
struct TokenLimits {
  int64_t vocab_size = 0, type_vocab_size = 0, max_positions = 0;
  bool causal = false;  // branch ids are allowed
};

// A right-padded TokenBatch of the given encodings (pad id for padding).
TokenBatch make_token_batch(const std::vector<Encoding>& encodings, const std::vector<size_t>& indices, int32_t pad_id);

// Token-id sequences right-padded with id 0 into one batch (type ids 0, T the longest), for the
// causal-LM tasks, which build their sequences from ids rather than Encodings.
TokenBatch right_padded_batch(const std::vector<std::span<const int32_t>>& sequences);

// ShapeError naming the first bad id, type id or length.
void validate_token_batch(const TokenLimits& limits, const TokenBatch& batch);

// What running layers [first, end) of a `layers`-layer model on `hidden_floats` floats of hidden
// states [B*T, hidden_size] needs (an architecture's run_layers and run_layer_rows): an internal
// error naming `caller` for a layer range outside the model or states smaller than the batch, then
// validate_token_batch's errors.
void check_layer_run(const TokenLimits& limits, const TokenBatch& batch, int first, int end, int64_t layers,
                     int64_t hidden_floats, int64_t hidden_size, const char* caller);

}  // namespace squish
