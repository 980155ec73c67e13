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

}  // namespace squish
