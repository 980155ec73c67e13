// The Pareto front of models traded off on two axes, both to be maximised (compression and the task
// metric; a size to minimise enters negated). Not a plot: the report draws what this returns.
#pragma once

#include <cstddef>
#include <vector>

namespace squish {

struct TradeoffPoint {
  double x, y;  // both: larger is better
};

// Indices of the points no other point dominates (at least as good on both axes, better on one),
// ordered by x ascending. Equal points are all kept. Empty input gives an empty front.
std::vector<size_t> pareto_front(const std::vector<TradeoffPoint>& points);

}  // namespace squish
