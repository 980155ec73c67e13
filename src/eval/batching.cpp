#include "eval/batching.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace squish {

std::vector<std::vector<size_t>> length_buckets(const std::vector<int64_t>& lengths, int64_t batch_size) {
  if (batch_size <= 0) throw UsageError("batch size must be positive, found " + std::to_string(batch_size));
  std::vector<size_t> order(lengths.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return lengths[a] < lengths[b]; });
  std::vector<std::vector<size_t>> batches;
  for (size_t start = 0; start < order.size(); start += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(order.size(), start + static_cast<size_t>(batch_size));
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start), order.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return batches;
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

}  // namespace squish
