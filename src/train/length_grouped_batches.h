// The order training visits examples in, as HF's LengthGroupedSampler (group_by_length=True) draws
// it: a seeded shuffle, cut into megabatches of 50 batches, each megabatch sorted by length
// (longest first, ties in shuffled order), the longest example of all moved to the very first
// batch (so running out of memory shows at step one), then consecutive batches. Batches pad only to
// their own longest member yet their composition is random. The shuffle is
// io/datasets' seeded_permutation, so a seed gives the same batches on every platform.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace squish {

inline constexpr int64_t kBatchesPerMegabatch = 50;

// Batches of indices into `lengths` (the last one may be short) for one epoch.
std::vector<std::vector<size_t>> length_grouped_batches(const std::vector<int64_t>& lengths, int64_t batch_size,
                                                         uint64_t seed);

}  // namespace squish
