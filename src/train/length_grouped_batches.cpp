#include "train/length_grouped_batches.h"

#include <algorithm>

#include "core/error.h"
#include "io/datasets/dataset.h"

namespace squish {

std::vector<std::vector<size_t>> length_grouped_batches(const std::vector<int64_t>& lengths, int64_t batch_size,
                                                         uint64_t seed) {
  if (batch_size <= 0) throw UsageError("--batch_size must be positive, found " + std::to_string(batch_size));
  const auto n = static_cast<int64_t>(lengths.size());
  std::vector<int64_t> order = seeded_permutation(n, seed);
  const int64_t mega = kBatchesPerMegabatch * batch_size;
  int64_t longest_start = 0;
  for (int64_t start = 0; start < n; start += mega) {
    const auto first = order.begin() + start, last = order.begin() + std::min(n, start + mega);
    std::stable_sort(first, last, [&](int64_t a, int64_t b) { return lengths[static_cast<size_t>(a)] > lengths[static_cast<size_t>(b)]; });
    if (lengths[static_cast<size_t>(*first)] > lengths[static_cast<size_t>(order[static_cast<size_t>(longest_start)])])
      longest_start = start;
  }
  if (n > 0) std::swap(order[0], order[static_cast<size_t>(longest_start)]);
  std::vector<std::vector<size_t>> batches;
  for (int64_t start = 0; start < n; start += batch_size) {
    batches.emplace_back();
    for (int64_t i = start; i < std::min(n, start + batch_size); ++i)
      batches.back().push_back(static_cast<size_t>(order[static_cast<size_t>(i)]));
  }
  return batches;
}

}  // namespace squish
