// Length bucketing: examples sorted by token count and cut into batches, so each batch pads only
// to its own longest member and padding costs almost nothing. Deterministic: ties keep dataset order.
#pragma once

#include <cstdint>
#include <vector>

#include "io/tokenizer/tokenizer.h"
#include "model/common/token_batch.h"

namespace squish {

// Batches of indices into `lengths`, each at most batch_size long, in ascending length.
std::vector<std::vector<size_t>> length_buckets(const std::vector<int64_t>& lengths, int64_t batch_size);

// A right-padded TokenBatch of the given encodings (pad id for padding).
TokenBatch make_token_batch(const std::vector<Encoding>& encodings, const std::vector<size_t>& indices, int32_t pad_id);

}  // namespace squish
