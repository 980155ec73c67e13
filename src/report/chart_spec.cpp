#include "report/chart_spec.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"

namespace squish {
namespace {

// Tableau 10: distinguishable, and still apart when printed in grey.
constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

// Series also differ in marker shape, so they stay apart in grey print and for colour-blind readers.
constexpr const char* kPointStyles[] = {"circle", "triangle", "rect", "crossRot", "star", "rectRounded"};

std::string colour(size_t i, double alpha = 1.0) {
  const std::string hex = kPalette[i % std::size(kPalette)];
  if (alpha >= 1.0) return hex;
  const int r = std::stoi(hex.substr(1, 2), nullptr, 16), g = std::stoi(hex.substr(3, 2), nullptr, 16),
            b = std::stoi(hex.substr(5, 2), nullptr, 16);
  return fmt::format("rgba({}, {}, {}, {:.2f})", r, g, b, alpha);
}

nlohmann::json axis_json(const ChartAxis& a, bool category) {
  nlohmann::json j = {{"title", {{"display", true}, {"text", a.title}, {"font", {{"size", 13}, {"weight", "600"}}}}},
                      {"grid", {{"color", "#e6e9ed"}}}};
  if (!category) j["type"] = a.logarithmic ? "logarithmic" : "linear";
  if (a.begin_at_zero) j["beginAtZero"] = true;
  // Scientific ticks (1e-6) on log axes instead of "0.000001".
  if (a.logarithmic || a.scientific)
    j["ticks"]["format"] = {{"notation", "scientific"}, {"minimumFractionDigits", 0}, {"maximumFractionDigits", 1}};
  if (a.whole_numbers) j["ticks"]["stepSize"] = 1;
  return j;
}

// Chart.js stretches a constant series over -0.5..2; a narrow band around the value reads better.
void pad_flat_range(nlohmann::json& axis, const std::vector<XySeries>& series, bool x) {
  double lo = 0, hi = 0;
  bool any = false;
  for (const XySeries& s : series)
    for (double v : x ? s.x : s.y) {
      lo = any ? std::min(lo, v) : v;
      hi = any ? std::max(hi, v) : v;
      any = true;
    }
  if (!any || hi - lo > 1e-12 || axis.value("type", "") == "logarithmic") return;
  const double pad = std::max(std::abs(lo) * 0.02, 1e-3);
  axis["min"] = lo - pad;
  axis["max"] = hi + pad;
}

nlohmann::json options_json(const ChartAxis& x, const ChartAxis& y, bool x_category) {
  return {{"responsive", true},
          {"maintainAspectRatio", false},
          {"animation", false},
          {"scales", {{"x", axis_json(x, x_category)}, {"y", axis_json(y, false)}}},
          {"plugins", {{"legend", {{"display", true}, {"position", "top"}, {"labels", {{"boxWidth", 14}}}}}}}};
}

}  // namespace

nlohmann::json xy_chart(const ChartAxis& x, const ChartAxis& y, const std::vector<XySeries>& series) {
  nlohmann::json datasets = nlohmann::json::array();
  for (size_t i = 0; i < series.size(); ++i) {
    const XySeries& s = series[i];
    if (s.x.size() != s.y.size())
      throw ShapeError(fmt::format("chart series '{}': {} x values but {} y values", s.label, s.x.size(), s.y.size()));
    nlohmann::json points = nlohmann::json::array();
    for (size_t k = 0; k < s.x.size(); ++k) points.push_back({{"x", s.x[k]}, {"y", s.y[k]}});
    // Long curves draw as lines without markers; dense clouds get small dots so overlaps stay visible.
    const double radius = s.emphasize ? 6 : s.connect ? (s.x.size() > 40 ? 0 : 4) : (s.x.size() > 200 ? 2.5 : 4);
    nlohmann::json d = {{"label", s.label},      {"data", points},
                        {"showLine", s.connect}, {"borderColor", colour(i)},
                        {"backgroundColor", colour(i, s.connect ? 1.0 : 0.75)},
                        {"pointRadius", radius}, {"pointHoverRadius", radius + 2},
                        {"borderWidth", s.emphasize ? 2.5 : 1.6}, {"tension", 0}};
    if (s.dashed) d["borderDash"] = {6, 4};
    d["pointStyle"] = s.emphasize ? "rectRot" : kPointStyles[i % std::size(kPointStyles)];
    datasets.push_back(std::move(d));
  }
  nlohmann::json options = options_json(x, y, false);
  pad_flat_range(options["scales"]["x"], series, true);
  pad_flat_range(options["scales"]["y"], series, false);
  return {{"type", "scatter"}, {"data", {{"datasets", datasets}}}, {"options", options}};
}

nlohmann::json bar_chart(const std::vector<std::string>& categories, const ChartAxis& x, const ChartAxis& y,
                         const std::vector<BarSeries>& series) {
  nlohmann::json datasets = nlohmann::json::array();
  for (size_t i = 0; i < series.size(); ++i) {
    if (series[i].values.size() != categories.size())
      throw ShapeError(fmt::format("bar series '{}': {} values for {} categories", series[i].label,
                                   series[i].values.size(), categories.size()));
    datasets.push_back({{"label", series[i].label},
                        {"data", series[i].values},
                        {"backgroundColor", colour(i, 0.8)},
                        {"borderColor", colour(i)},
                        {"borderWidth", 1}});
  }
  return {{"type", "bar"}, {"data", {{"labels", categories}, {"datasets", datasets}}}, {"options", options_json(x, y, true)}};
}

nlohmann::json histogram_chart(const std::vector<double>& edges, const ChartAxis& x, const ChartAxis& y,
                               const std::vector<BarSeries>& series) {
  if (edges.size() < 2) throw ShapeError(fmt::format("histogram: {} bin edges, expected at least 2", edges.size()));
  std::vector<std::string> bins;
  for (size_t b = 0; b + 1 < edges.size(); ++b) bins.push_back(fmt::format("{:.2f}\u2013{:.2f}", edges[b], edges[b + 1]));
  nlohmann::json j = bar_chart(bins, x, y, series);
  for (auto& d : j["data"]["datasets"]) {
    d["barPercentage"] = 1.0;
    d["categoryPercentage"] = 0.9;
  }
  return j;
}

XySeries thin_series(const XySeries& s, size_t limit) {
  if (s.x.size() <= limit || limit < 2) return s;
  XySeries out = s;
  out.x.clear();
  out.y.clear();
  const double stride = static_cast<double>(s.x.size() - 1) / static_cast<double>(limit - 1);
  for (size_t k = 0; k < limit; ++k) {
    const size_t i = static_cast<size_t>(k * stride + 0.5);
    out.x.push_back(s.x[i]);
    out.y.push_back(s.y[i]);
  }
  return out;
}

}  // namespace squish
