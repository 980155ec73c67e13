#include "quant/fallback.h"

#include <algorithm>

namespace squish {
namespace {

Linear* linear_named(SequenceModel& model, const std::string& name) {
  for (Linear* l : model.mutable_linears())
    if (l->name == name) return l;
  return nullptr;
}

}  // namespace

FallbackResult accuracy_fallback(SequenceModel& model, const std::map<std::string, LinearVariants>& variants,
                                 double max_drop_points, double fp32_metric,
                                 const std::function<double(SequenceModel&)>& metric) {
  FallbackResult result;
  result.max_drop_points = max_drop_points;
  result.fp32_metric = fp32_metric;
  result.final_metric = result.start_metric = metric(model);
  const auto within = [&](double m) { return (result.fp32_metric - m) * 100.0 <= max_drop_points; };

  // One pass per rung of the ladder static → dynamic → fp32, worst measured error first.
  const auto walk = [&](std::string_view from, double LinearVariants::*error, const Linear LinearVariants::*to) {
    std::vector<const std::pair<const std::string, LinearVariants>*> order;
    for (const auto& entry : variants)
      if (linear_named(model, entry.first)->weights->format() == from) order.push_back(&entry);
    std::stable_sort(order.begin(), order.end(),
                     [&](const auto* a, const auto* b) { return a->second.*error > b->second.*error; });
    for (const auto* entry : order) {
      if (within(result.final_metric)) return;
      Linear* l = linear_named(model, entry->first);
      const Linear& target = entry->second.*to;
      *l = target;
      result.final_metric = metric(model);
      result.steps.push_back({entry->first, std::string(from), std::string(target.weights->format()), result.final_metric});
    }
  };
  walk("int8-static", &LinearVariants::static_error, &LinearVariants::dynamic);
  walk("int8-dynamic", &LinearVariants::dynamic_error, &LinearVariants::fp32);
  result.met = within(result.final_metric);
  return result;
}

}  // namespace squish
