// Chart.js 3 configurations for the report's three chart shapes: points and lines on numeric axes,
// grouped bars over named categories, and histograms. Every axis carries a title with its unit and
// every chart a legend, so a chart reads on its own. Colours come from one fixed palette, in order.
// Not which charts a run gets: the run_sections_* files decide that.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace squish {

struct ChartAxis {
  std::string title;  // with its unit, e.g. "model file size (MB)"
  bool logarithmic = false;
  bool begin_at_zero = false;
  bool scientific = false;  // ticks as 5e-5 (learning rates); logarithmic axes always are
  bool whole_numbers = false;  // ticks only at integers (rounds), not at 0.1, 0.2, ...
};

struct XySeries {
  std::string label;
  std::vector<double> x, y;  // the same length
  bool connect = true;       // a line through the points in order; false: points only
  bool dashed = false;
  bool emphasize = false;    // larger points and a thicker line (the Pareto front)
};

struct BarSeries {
  std::string label;
  std::vector<double> values;  // one per category
};

nlohmann::json xy_chart(const ChartAxis& x, const ChartAxis& y, const std::vector<XySeries>& series);
nlohmann::json bar_chart(const std::vector<std::string>& categories, const ChartAxis& x, const ChartAxis& y,
                         const std::vector<BarSeries>& series);
// Counts per bin: `edges` has one more entry than each series' values; bars of a series side by side.
nlohmann::json histogram_chart(const std::vector<double>& edges, const ChartAxis& x, const ChartAxis& y,
                               const std::vector<BarSeries>& series);

// Evenly thinned copies of long curves (a 30k-step loss curve): at most `limit` points, first and last kept.
XySeries thin_series(const XySeries& s, size_t limit);

}  // namespace squish
