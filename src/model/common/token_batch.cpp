#include "model/common/token_batch.h"

#include <string>

#include "core/error.h"

namespace squish {

void validate_token_batch(const TokenLimits& c, const TokenBatch& b) {
  const int64_t n = b.batch * b.tokens;
  if (b.batch <= 0 || b.tokens <= 0 || static_cast<int64_t>(b.input_ids.size()) != n ||
      static_cast<int64_t>(b.token_type_ids.size()) != n || static_cast<int64_t>(b.lengths.size()) != b.batch)
    throw ShapeError("token batch: expected B*T ids and type ids and B lengths for B=" + std::to_string(b.batch) +
                     " T=" + std::to_string(b.tokens));
  if (b.tokens > c.max_positions)
    throw ShapeError("token batch: " + std::to_string(b.tokens) + " tokens exceed max_position_embeddings " +
                     std::to_string(c.max_positions));
  for (int64_t i = 0; i < b.batch; ++i)
    if (b.lengths[i] < 1 || b.lengths[i] > b.tokens)
      throw ShapeError("token batch: sequence " + std::to_string(i) + " has length " + std::to_string(b.lengths[i]) +
                       ", expected 1.." + std::to_string(b.tokens));
  for (int64_t i = 0; i < n; ++i) {
    if (b.input_ids[i] < 0 || b.input_ids[i] >= c.vocab_size)
      throw ShapeError("token batch: input id " + std::to_string(b.input_ids[i]) + " at position " + std::to_string(i) +
                       " is outside the vocabulary [0, " + std::to_string(c.vocab_size) + ")");
    if (b.token_type_ids[i] < 0 || b.token_type_ids[i] >= c.type_vocab_size)
      throw ShapeError("token batch: token type id " + std::to_string(b.token_type_ids[i]) + " at position " +
                       std::to_string(i) + " is outside [0, " + std::to_string(c.type_vocab_size) + ")");
  }
}

}  // namespace squish
