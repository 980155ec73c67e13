// Parameter counts by group ("embeddings", "attention", ...), as models report them, and their total.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace squish {

using ParameterGroups = std::vector<std::pair<std::string, int64_t>>;

inline int64_t total_parameters(const ParameterGroups& groups) {
  int64_t n = 0;
  for (const auto& [group, count] : groups) n += count;
  return n;
}

}  // namespace squish
