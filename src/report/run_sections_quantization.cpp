// Sections for the quantization family: eval, quantize (quantization.json), ptq-compare and
// calib-ablation, sensitivity, allocate (plan.json) and mixed-precision (results.json).
#include <map>
#include <set>

#include <fmt/format.h>

#include "report/chart_spec.h"
#include "report/run_sections.h"

namespace squish {
namespace {

std::string points_text(double change) { return fmt::format("{:+.2f}", change); }

// Units named in a bit plan or sensitivity file: name, chosen bits, format, sensitivity, bytes.
void add_units_table_and_plan(HtmlPage& page, const RunDocument& d, const std::string& units_pointer,
                              const std::string& what) {
  const auto& units = d.at(units_pointer);
  std::vector<HtmlPage::Row> rows;
  std::vector<std::string> names;
  BarSeries bits{"stored bits per weight", {}}, sensitivity{"sensitivity at the chosen width", {}};
  for (size_t u = 0; u < units.size(); ++u) {
    const std::string p = fmt::format("{}/{}", units_pointer, u);
    names.push_back(short_unit_name(d.text(p + "/name")));
    bits.values.push_back(d.number(p + "/bits"));
    sensitivity.values.push_back(d.number(p + "/sensitivity"));
    rows.push_back({d.text(p + "/name"), d.display(p + "/bits"), d.display(p + "/format"),
                    fmt::format("{:.3e}", d.number(p + "/sensitivity")), megabytes_text(d.number(p + "/bytes"))});
  }
  page.heading(what);
  page.table({"unit", "bits", "format", "sensitivity (1 \u2212 similarity)", "stored size"}, rows);
  page.chart("Bit plan: width each unit is stored at",
             bar_chart(names, {"unit (L = encoder layer)"}, {"bits per weight", false, true}, {bits}));
  page.chart("Sensitivity of each unit at its chosen width (log scale)",
             bar_chart(names, {"unit (L = encoder layer)"}, {"sensitivity (1 \u2212 similarity, log)", true}, {sensitivity}));
}

}  // namespace

void add_eval_section(HtmlPage& page, const RunDocument& d) {
  add_settings(page, d, {"/request", "/model", "/data", "/timing"});
  if (d.has("/metrics")) {
    page.heading("Metrics");
    std::vector<HtmlPage::Row> rows;
    for (const auto& [name, value] : d.at("/metrics").items()) rows.push_back({name, display_value(value)});
    page.table({"metric", "value"}, rows);
  }
  if (d.has("/confusion_matrix")) {
    const auto& cm = d.at("/confusion_matrix");
    page.heading("Confusion matrix (examples)");
    page.count_matrix("gold", "predicted", cm.at("labels").get<std::vector<std::string>>(),
                      cm.at("counts").get<std::vector<std::vector<long long>>>());
  }
}

void add_quantization_section(HtmlPage& page, const RunDocument& d) {
  page.heading("Result");
  page.table({"mode", "file size", "fp32 size", "compression vs fp32"},
             {{d.display("/mode"), megabytes_text(d.number("/size/file_bytes")), megabytes_text(d.number("/size/fp32_bytes")),
               fmt::format("{:.2f}\u00d7", d.number("/size/compression_vs_fp32"))}});
  const auto& layers = d.at("/layers");
  std::vector<HtmlPage::Row> rows;
  std::vector<std::string> names;
  std::map<std::string, std::vector<double>> errors;  // mode -> per layer
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string p = fmt::format("/layers/{}", i);
    names.push_back(short_unit_name(d.text(p + "/name")));
    std::string error_cells;
    if (d.has(p + "/output_error"))
      for (const auto& [mode, e] : d.at(p + "/output_error").items()) {
        errors[mode].resize(layers.size());
        errors[mode][i] = e.get<double>();
        error_cells += fmt::format("{}{}: {:.3e}", error_cells.empty() ? "" : ", ", mode, e.get<double>());
      }
    rows.push_back({d.text(p + "/name"), d.display(p + "/role"), d.display(p + "/format"),
                    error_cells.empty() ? std::string("not measured") : error_cells});
  }
  page.heading("Linears");
  page.table({"linear", "role", "format", "relative squared output error"}, rows, false);
  if (!errors.empty()) {
    std::vector<BarSeries> series;
    for (auto& [mode, values] : errors) series.push_back({mode, values});
    page.chart("Relative squared output error of each Linear on the calibration inputs",
               bar_chart(names, {"Linear (L = encoder layer)"},
                         {"\u2016y_q \u2212 y\u2016\u00b2 / \u2016y\u2016\u00b2", false, true}, series));
  } else {
    page.paragraph("Output errors: not measured (quantize measures them for --max_drop).");
  }
  add_settings(page, d, {"/source", "/scheme", "/calibration", "/fallback", "/seconds"});
}

void add_ptq_section(HtmlPage& page, const RunDocument& d) {
  const auto& variants = d.at("/variants");
  std::vector<HtmlPage::Row> rows;
  std::vector<std::string> names;
  BarSeries metric{"", {}}, speed{"examples per second", {}};
  for (size_t i = 0; i < variants.size(); ++i) {
    const std::string p = fmt::format("/variants/{}", i);
    metric.label = d.text(p + "/metric/name");
    names.push_back(d.text(p + "/name"));
    metric.values.push_back(d.number(p + "/metric/value"));
    speed.values.push_back(d.number(p + "/examples_per_second"));
    rows.push_back({d.text(p + "/name"), d.display(p + "/mode"), d.display(p + "/observer"), d.display(p + "/calib_size"),
                    metric_text(d.number(p + "/metric/value")), points_text(d.number(p + "/metric/change_points")),
                    megabytes_text(d.number(p + "/file_bytes")),
                    fmt::format("{:.2f}\u00d7", d.number(p + "/compression_vs_fp32")),
                    fmt::format("{:.0f}", d.number(p + "/examples_per_second")),
                    fmt::format("{:.2f}\u00d7", d.number(p + "/speedup_vs_fp32"))});
  }
  page.heading("Variants");
  page.table({"variant", "mode", "observer", "calibration examples", metric.label, "change (points)", "file size",
              "compression", "examples/s", "speed-up"},
             rows);
  if (d.kind == "calib_ablation") {
    // One curve per observer over the calibration sizes; fp32 and dynamic as flat references.
    std::map<std::string, XySeries> curves;
    std::set<double> sizes;
    std::vector<XySeries> references;
    for (size_t i = 0; i < variants.size(); ++i) {
      const std::string p = fmt::format("/variants/{}", i);
      if (d.text(p + "/mode") == "static") {
        XySeries& c = curves[d.text(p + "/observer")];
        c.label = "static, " + d.text(p + "/observer") + " observer";
        c.x.push_back(d.number(p + "/calib_size"));
        c.y.push_back(d.number(p + "/metric/value"));
        sizes.insert(d.number(p + "/calib_size"));
      }
    }
    std::vector<XySeries> series;
    for (auto& [observer, c] : curves) series.push_back(c);
    if (!sizes.empty())
      for (size_t i = 0; i < variants.size(); ++i) {
        const std::string p = fmt::format("/variants/{}", i);
        if (d.text(p + "/mode") == "static") continue;
        const double v = d.number(p + "/metric/value");
        series.push_back({d.text(p + "/name") + " (reference)", {*sizes.begin(), *sizes.rbegin()}, {v, v}, true, true});
      }
    page.chart(fmt::format("{} against calibration set size, per observer", metric.label),
               xy_chart({"calibration examples (log scale)", true}, {metric.label + " on " + d.display("/request/split")},
                        series));
  }
  page.chart(fmt::format("{} of each variant", metric.label),
             bar_chart(names, {"variant"}, {metric.label + " on " + d.display("/request/split")}, {metric}));
  page.chart("Throughput of each variant",
             bar_chart(names, {"variant"}, {"examples per second (higher is faster)", false, true}, {speed}));
  add_settings(page, d, {"/request"});
}

void add_mixed_precision_section(HtmlPage& page, const RunDocument& d) {
  page.heading("Result");
  std::vector<HtmlPage::Row> rows;
  for (const char* m : {"fp32", "quantized"}) {
    const std::string p = std::string("/") + m;
    rows.push_back({m == std::string("fp32") ? "fp32" : "mixed precision", d.text(p + "/metric/name"),
                    metric_text(d.number(p + "/metric/value")), megabytes_text(d.number(p + "/file_bytes")),
                    fmt::format("{:.2f}\u00d7", d.number(p + "/compression_vs_fp32")),
                    d.has(p + "/average_bits") ? fmt::format("{:.2f}", d.number(p + "/average_bits")) : "32",
                    fmt::format("{:.0f}", d.number(p + "/examples_per_second"))});
  }
  page.table({"model", "metric", "value", "file size", "compression", "bits per weight", "examples/s"}, rows);
  page.paragraph(fmt::format("Change: {} points; speed-up {:.2f}\u00d7.", points_text(-d.number("/drop_points")),
                             d.number("/speedup_vs_fp32")));
  add_units_table_and_plan(page, d, "/allocation/units",
                           "Bit plan (" + d.display("/allocation/method") + " allocation)");
  add_settings(page, d, {"/request", "/timing"});
}

void add_sensitivity_section(HtmlPage& page, const RunDocument& d) {
  const auto& units = d.at("/units");
  std::vector<std::string> names;
  std::map<int, BarSeries> by_bits;
  std::vector<HtmlPage::Row> rows;
  for (size_t u = 0; u < units.size(); ++u) {
    const std::string p = fmt::format("/units/{}", u);
    names.push_back(short_unit_name(d.text(p + "/name")));
    HtmlPage::Row row{d.text(p + "/name"), d.display(p + "/parameters")};
    const auto& widths = d.at(p + "/widths");
    for (size_t w = 0; w < widths.size(); ++w) {
      const std::string q = fmt::format("{}/widths/{}", p, w);
      const int bits = static_cast<int>(d.number(q + "/bits"));
      BarSeries& s = by_bits[bits];
      s.label = fmt::format("{} ({})", d.text(q + "/format"), bits == 16 ? "fp16" : fmt::format("{} bits", bits));
      s.values.resize(units.size());
      s.values[u] = d.number(q + "/sensitivity");
    }
    rows.push_back(row);
  }
  page.heading("Sensitivity per unit (1 \u2212 " + d.display("/options/method") + " similarity to fp32)");
  HtmlPage::Row header{"unit", "parameters"};
  std::vector<BarSeries> series;
  for (auto& [bits, s] : by_bits) {  // columns by width, whatever order a unit lists them in
    header.push_back("at " + s.label);
    for (size_t u = 0; u < units.size(); ++u) rows[u].push_back(fmt::format("{:.3e}", s.values[u]));
    series.push_back(s);
  }
  page.table(header, rows);
  page.chart("Per-unit sensitivity at each candidate width (log scale)",
             bar_chart(names, {"unit (L = encoder layer)"}, {"sensitivity (1 \u2212 similarity, log)", true}, series));
  add_settings(page, d, {"/source", "/options", "/timing"});
}

void add_bit_plan_section(HtmlPage& page, const RunDocument& d) {
  if (d.has("/expected"))
    page.paragraph(fmt::format("Expected: {} in all, {:.2f}\u00d7 smaller than fp32, {:.2f} stored bits per weight.",
                               megabytes_text(d.number("/expected/total_bytes")), d.number("/expected/compression_vs_fp32"),
                               d.number("/expected/average_stored_bits")));
  if (d.has("/units")) add_units_table_and_plan(page, d, "/units", "Bit plan (" + d.display("/allocation/method") + ")");
  add_settings(page, d, {"/allocation"});
}

}  // namespace squish
