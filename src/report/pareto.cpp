#include "report/pareto.h"

#include <algorithm>

namespace squish {

std::vector<size_t> pareto_front(const std::vector<TradeoffPoint>& points) {
  // Quadratic on purpose: a report holds tens of models, and this is plainly correct.
  std::vector<size_t> front;
  for (size_t i = 0; i < points.size(); ++i) {
    const bool dominated = std::any_of(points.begin(), points.end(), [&](const TradeoffPoint& o) {
      return o.x >= points[i].x && o.y >= points[i].y && (o.x > points[i].x || o.y > points[i].y);
    });
    if (!dominated) front.push_back(i);
  }
  std::stable_sort(front.begin(), front.end(), [&](size_t a, size_t b) { return points[a].x < points[b].x; });
  return front;
}

}  // namespace squish
