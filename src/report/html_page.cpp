#include "report/html_page.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "report/embedded_chartjs.h"

namespace squish {
namespace {

// Laptop-first: one readable column at most 1200 px wide, charts two to a row where there is room;
// print: no navigation, charts kept whole on a page, black on white.
constexpr std::string_view kStyle = R"css(
:root { --ink: #1d2733; --muted: #5b6775; --rule: #d9dee4; --band: #f4f6f8; --accent: #1f6fb4; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--ink); background: #fff; }
header.page { padding: 20px 32px 12px; border-bottom: 1px solid var(--rule); }
header.page h1 { margin: 0 0 4px; font-size: 24px; }
header.page p { margin: 0; color: var(--muted); }
nav.toc { padding: 8px 32px; border-bottom: 1px solid var(--rule); background: var(--band); font-size: 14px;
          display: flex; flex-wrap: wrap; gap: 2px 16px; }
nav.toc a { color: var(--accent); text-decoration: none; white-space: nowrap; }
main { max-width: 1200px; padding: 8px 32px 40px; }
section { margin-top: 28px; }
section > h2 { font-size: 20px; margin: 0 0 2px; }
section > p.subtitle { margin: 0 0 12px; color: var(--muted); font-size: 13px; word-break: break-all; }
h3 { font-size: 16px; margin: 20px 0 8px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13.5px;
        display: block; max-width: 100%; overflow-x: auto; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
th { background: var(--band); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.settings td:first-child { color: var(--muted); }
table.settings td { word-break: break-word; max-width: 760px; }
table.matrix td { text-align: right; min-width: 90px; font-variant-numeric: tabular-nums; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(520px, 100%), 1fr)); gap: 16px 24px; }
figure.chart { margin: 0; border: 1px solid var(--rule); border-radius: 4px; padding: 8px 10px 6px; }
figure.chart figcaption { font-size: 13.5px; font-weight: 600; margin-bottom: 4px; }
figure.chart div.canvas { position: relative; height: 320px; }
footer { color: var(--muted); font-size: 12px; border-top: 1px solid var(--rule); padding: 12px 32px; }
@media print {
  nav.toc { display: none; }
  header.page, main, footer { padding-left: 0; padding-right: 0; }
  main { max-width: none; }
  .charts { display: block; }
  figure.chart { break-inside: avoid; page-break-inside: avoid; margin-bottom: 12px; border: none; }
  figure.chart div.canvas { height: 260px; }
  section { break-before: auto; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  table { break-inside: avoid; }
}
)css";

// Draws every chart, then marks it so a headless check can tell that it drew: data-drew="yes" when
// Chart.js built it without an exception, it has data points and its canvas holds non-transparent
// pixels; the body carries the counts. Animation is off so drawing is done when the constructor returns.
constexpr std::string_view kDrawScript = R"js(
(function () {
  'use strict';
  const specs = JSON.parse(document.getElementById('squish-chart-data').textContent);
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.size = 13;
  Chart.defaults.color = '#1d2733';
  function hasInk(canvas) {
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
    return false;
  }
  let drawn = 0, failed = 0;
  document.querySelectorAll('canvas[data-chart]').forEach(function (canvas) {
    const index = Number(canvas.dataset.chart);
    try {
      const chart = new Chart(canvas, specs[index]);
      const elements = chart.data.datasets.reduce(function (n, d, i) {
        return n + chart.getDatasetMeta(i).data.length;
      }, 0);
      const ok = elements > 0 && hasInk(canvas);
      canvas.dataset.drew = ok ? 'yes' : 'no';
      if (ok) ++drawn; else { ++failed; console.error('chart ' + index + ' drew nothing'); }
    } catch (e) {
      canvas.dataset.drew = 'no';
      ++failed;
      console.error('chart ' + index + ' failed: ' + e);
    }
  });
  document.body.dataset.chartsTotal = String(specs.length);
  document.body.dataset.chartsDrawn = String(drawn);
  document.body.dataset.chartsFailed = String(failed);
  window.addEventListener('beforeprint', function () {
    Object.values(Chart.instances).forEach(function (c) { c.resize(); });
  });
})();
)js";

// "0.8123", "+1.20", "17.55 MB", "6.13×", "50.0%": right-aligned so digits line up; words stay left.
bool looks_numeric(const std::string& cell) {
  if (cell.empty()) return false;
  const size_t i = cell[0] == '+' || cell[0] == '-' ? 1 : 0;
  // Letters other than units (s, MB, kB, GB) and exponents (e) make it a word: "int4-g64", "L3".
  return i < cell.size() && std::isdigit(static_cast<unsigned char>(cell[i])) != 0 &&
         cell.find_first_of("abcdfghijlmnopqrtuvwxyzACDEFHIJKLNOPQRSTUVWXYZ_") == std::string::npos;
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string script_safe_json(const nlohmann::json& value) {
  // Replacing bytes is safe because "<", ">" and "&" occur in serialized JSON only inside strings,
  // where \u003c means the same character. Invalid UTF-8 from a run is replaced, not thrown on.
  const std::string dumped = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(dumped.size());
  for (char c : dumped) {
    if (c == '<') out += "\\u003c";
    else if (c == '>') out += "\\u003e";
    else if (c == '&') out += "\\u0026";
    else out += c;
  }
  return out;
}

HtmlPage::Section& HtmlPage::current() {
  if (sections_.empty()) sections_.push_back({"summary", "Summary", "", "", false});
  return sections_.back();
}

std::string& HtmlPage::text_body() {
  Section& s = current();
  if (s.grid_open) s.body += "</div>\n";
  s.grid_open = false;
  return s.body;
}

void HtmlPage::begin_section(const std::string& id, const std::string& title, const std::string& subtitle) {
  sections_.push_back({id, title, subtitle, "", false});
}

void HtmlPage::heading(const std::string& text) { text_body() += "<h3>" + html_escape(text) + "</h3>\n"; }

void HtmlPage::paragraph(const std::string& text) { text_body() += "<p>" + html_escape(text) + "</p>\n"; }

void HtmlPage::table(const Row& header, const std::vector<Row>& rows, bool numeric_columns) {
  std::string& b = text_body();
  b += "<table>\n<tr>";
  for (const std::string& h : header) b += "<th>" + html_escape(h) + "</th>";
  b += "</tr>\n";
  for (const Row& row : rows) {
    b += "<tr>";
    for (const std::string& cell : row)
      b += (numeric_columns && looks_numeric(cell) ? "<td class=\"num\">" : "<td>") + html_escape(cell) + "</td>";
    b += "</tr>\n";
  }
  b += "</table>\n";
}

void HtmlPage::settings(const std::vector<std::pair<std::string, std::string>>& items) {
  std::string& b = text_body();
  b += "<table class=\"settings\">\n";
  for (const auto& [name, value] : items) b += "<tr><td>" + html_escape(name) + "</td><td>" + html_escape(value) + "</td></tr>\n";
  b += "</table>\n";
}

void HtmlPage::chart(const std::string& caption, nlohmann::json config) {
  Section& s = current();
  // Consecutive charts share one grid so they sit side by side on a wide screen.
  if (!s.grid_open) s.body += "<div class=\"charts\">\n";
  s.grid_open = true;
  s.body += fmt::format("<figure class=\"chart\"><figcaption>{}</figcaption><div class=\"canvas\">"
                        "<canvas data-chart=\"{}\" role=\"img\" aria-label=\"{}\"></canvas></div></figure>\n",
                        html_escape(caption), charts_.size(), html_escape(caption));
  charts_.push_back(std::move(config));
}

void HtmlPage::count_matrix(const std::string& row_axis, const std::string& column_axis,
                            const std::vector<std::string>& labels, const std::vector<std::vector<long long>>& counts) {
  long long largest = 1;
  for (const auto& row : counts)
    for (long long c : row) largest = std::max(largest, c);
  std::string& b = text_body();
  b += "<table class=\"matrix\">\n<tr><th>" + html_escape(row_axis) + " \u2193 / " + html_escape(column_axis) +
       " \u2192</th>";
  for (const std::string& l : labels) b += "<th>" + html_escape(l) + "</th>";
  b += "</tr>\n";
  for (size_t r = 0; r < counts.size(); ++r) {
    b += "<tr><th>" + html_escape(r < labels.size() ? labels[r] : std::to_string(r)) + "</th>";
    for (long long c : counts[r])
      b += fmt::format("<td style=\"background: rgba(31, 111, 180, {:.2f})\">{}</td>", 0.08 + 0.5 * c / largest, c);
    b += "</tr>\n";
  }
  b += "</table>\n";
}

std::string HtmlPage::render(const std::string& title, const std::string& generated_by) const {
  std::string page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  page += "<title>" + html_escape(title) + "</title>\n<style>" + std::string(kStyle) + "</style>\n</head>\n<body>\n";
  page += "<header class=\"page\"><h1>" + html_escape(title) + "</h1><p>" + html_escape(generated_by) +
          "</p></header>\n<nav class=\"toc\">";
  for (const Section& s : sections_) page += "<a href=\"#" + html_escape(s.id) + "\">" + html_escape(s.title) + "</a>";
  page += "</nav>\n<main>\n";
  for (const Section& s : sections_) {
    page += "<section id=\"" + html_escape(s.id) + "\">\n<h2>" + html_escape(s.title) + "</h2>\n";
    if (!s.subtitle.empty()) page += "<p class=\"subtitle\">" + html_escape(s.subtitle) + "</p>\n";
    page += s.body + (s.grid_open ? "</div>\n" : "") + "</section>\n";
  }
  page += fmt::format("</main>\n<footer>Charts drawn by Chart.js {} (MIT License), embedded in this page.</footer>\n",
                      embedded_chartjs_version());
  page += "<script type=\"application/json\" id=\"squish-chart-data\">" + script_safe_json(charts_) + "</script>\n";
  page += "<script>" + std::string(embedded_chartjs()) + "</script>\n";
  page += "<script>" + std::string(kDrawScript) + "</script>\n</body>\n</html>\n";
  return page;
}

}  // namespace squish
