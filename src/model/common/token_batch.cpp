#include "model/common/token_batch.h"

#include <algorithm>
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
  if (!b.branch_ids.empty() && !c.causal)
    throw ShapeError("token batch: branch ids are for causal models; this model attends in both directions");
  if (!b.branch_ids.empty()) {
    if (static_cast<int64_t>(b.branch_ids.size()) != n)
      throw ShapeError("token batch: expected B*T branch ids for B=" + std::to_string(b.batch) +
                       " T=" + std::to_string(b.tokens));
    for (int64_t s = 0; s < b.batch; ++s) {
      const int32_t* branch = b.branch_ids.data() + s * b.tokens;
      bool prefix = true;
      for (int64_t t = 0; t < b.lengths[s]; ++t) {
        const bool starts = t > 0 && branch[t] != branch[t - 1];
        if (branch[t] < 0 || (!prefix && branch[t] == 0) || (starts && branch[t] != 0 && branch[t] <= branch[t - 1]))
          throw ShapeError("token batch: sequence " + std::to_string(s) + " position " + std::to_string(t) +
                           ": branch id " + std::to_string(branch[t]) +
                           " out of order (the prefix, 0, comes first; then branches 1, 2, ... one run each)");
        prefix = prefix && branch[t] == 0;
      }
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    if (b.input_ids[i] < 0 || b.input_ids[i] >= c.vocab_size)
      throw ShapeError("token batch: input id " + std::to_string(b.input_ids[i]) + " at position " + std::to_string(i) +
                       " is outside the vocabulary [0, " + std::to_string(c.vocab_size) + ")");
    if (b.token_type_ids[i] < 0 || b.token_type_ids[i] >= c.type_vocab_size)
      throw ShapeError("token batch: token type id " + std::to_string(b.token_type_ids[i]) + " at position " +
                       std::to_string(i) + " is outside [0, " + std::to_string(c.type_vocab_size) + ")");
  }
}

TokenBatch right_padded_batch(const std::vector<std::span<const int32_t>>& sequences) {
  TokenBatch b;
  b.batch = static_cast<int64_t>(sequences.size());
  for (const auto& s : sequences) b.tokens = std::max<int64_t>(b.tokens, static_cast<int64_t>(s.size()));
  b.input_ids.assign(static_cast<size_t>(b.batch * b.tokens), 0);
  b.token_type_ids.assign(b.input_ids.size(), 0);
  for (size_t i = 0; i < sequences.size(); ++i) {
    std::copy(sequences[i].begin(), sequences[i].end(),
              b.input_ids.begin() + static_cast<std::ptrdiff_t>(static_cast<int64_t>(i) * b.tokens));
    b.lengths.push_back(static_cast<int32_t>(sequences[i].size()));
  }
  return b;
}

TokenBatch make_token_batch(const std::vector<Encoding>& encodings, const std::vector<size_t>& indices, int32_t pad_id) {
  TokenBatch b;
  b.batch = static_cast<int64_t>(indices.size());
  for (size_t i : indices) b.tokens = std::max<int64_t>(b.tokens, static_cast<int64_t>(encodings[i].input_ids.size()));
  b.input_ids.assign(static_cast<size_t>(b.batch * b.tokens), pad_id);
  b.token_type_ids.assign(static_cast<size_t>(b.batch * b.tokens), 0);
  for (size_t s = 0; s < indices.size(); ++s) {
    const Encoding& e = encodings[indices[s]];
    std::copy(e.input_ids.begin(), e.input_ids.end(), b.input_ids.begin() + static_cast<std::ptrdiff_t>(s * b.tokens));
    std::copy(e.token_type_ids.begin(), e.token_type_ids.end(),
              b.token_type_ids.begin() + static_cast<std::ptrdiff_t>(s * b.tokens));
    b.lengths.push_back(static_cast<int32_t>(e.input_ids.size()));
  }
  return b;
}

void check_layer_run(const TokenLimits& limits, const TokenBatch& batch, int first, int end, int64_t layers,
                     int64_t hidden_floats, int64_t hidden_size, const char* caller) {
  if (first < 0 || end > layers || first > end)
    throw Error(ExitCode::kInternal, std::string(caller) + ": layers [" + std::to_string(first) + ", " +
                                         std::to_string(end) + ") of a " + std::to_string(layers) + "-layer model");
  validate_token_batch(limits, batch);
  if (hidden_floats < batch.batch * batch.tokens * hidden_size)
    throw Error(ExitCode::kInternal, std::string(caller) + ": hidden states smaller than the batch");
}

}  // namespace squish
