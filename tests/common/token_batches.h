// Small hand-made token batches the model and quantization suites share.
#pragma once

#include <cstdint>

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

}  // namespace squish::test
