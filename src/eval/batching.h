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

}  // namespace squish
