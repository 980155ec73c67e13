// Small hand-made token batches the model and quantization suites share.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "model/common/sequence_model.h"
#include "model/common/token_batch.h"

namespace squish::test {

// Two sequences of T = 6 tokens, the second 3 long (padding id 0).
inline TokenBatch small_batch() {
  TokenBatch b;
  b.batch = 2;
  b.tokens = 6;
  b.input_ids = {1, 7, 11, 19, 23, 2, 1, 8, 2, 0, 0, 0};
  b.token_type_ids.assign(12, 0);
  b.lengths = {6, 3};
  return b;
}

// Two sequences of T = 7, the second padded after 4 tokens with `pad` ids.
inline TokenBatch padded_batch(int32_t pad) {
  TokenBatch b;
  b.batch = 2;
  b.tokens = 7;
  b.input_ids = {1, 5, 9, 13, 17, 21, 2, 1, 6, 10, 2, pad, pad, pad};
  b.token_type_ids.assign(14, 0);
  b.lengths = {7, 4};
  return b;
}

// Right-padded `sequences` in one batch (padding `pad`), every position's next token a target.
inline TokenBatch next_token_batch(const std::vector<std::vector<int32_t>>& sequences, int32_t pad,
                                   std::vector<LogprobTarget>& targets) {
  TokenBatch b;
  b.batch = static_cast<int64_t>(sequences.size());
  for (const auto& s : sequences) b.tokens = std::max<int64_t>(b.tokens, static_cast<int64_t>(s.size()));
  b.input_ids.assign(static_cast<size_t>(b.batch * b.tokens), pad);
  b.token_type_ids.assign(b.input_ids.size(), 0);
  targets.clear();
  for (size_t i = 0; i < sequences.size(); ++i) {
    std::copy(sequences[i].begin(), sequences[i].end(), b.input_ids.begin() + static_cast<int64_t>(i) * b.tokens);
    b.lengths.push_back(static_cast<int32_t>(sequences[i].size()));
    for (size_t t = 0; t + 1 < sequences[i].size(); ++t)
      targets.push_back({static_cast<int64_t>(i), static_cast<int64_t>(t), sequences[i][t + 1]});
  }
  return b;
}

}  // namespace squish::test
