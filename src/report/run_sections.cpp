// The dispatch from a document's kind to its section, the helpers the families share, and the
// summary section with the accuracy-size trade-off across every run given.
#include "report/run_sections.h"

#include <map>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "report/chart_spec.h"
#include "report/pareto.h"

namespace squish {
namespace {

// One model a run measured: where it came from, its task metric and its size.
struct ModelPoint {
  std::string run, model, task, metric;
  double value, file_bytes, compression;
  int64_t examples = 0;  // how many the metric was measured on (0: the document does not say)
};

int64_t examples_at(const RunDocument& d, const std::string& pointer) {
  return d.has(pointer) ? static_cast<int64_t>(d.number(pointer)) : 0;
}

std::string model_name(const std::string& dir) {
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  const size_t slash = d.rfind('/');
  return slash == std::string::npos ? d : d.substr(slash + 1);
}

void add_point(std::vector<ModelPoint>& out, const RunDocument& d, const std::string& model, const std::string& task,
               const std::string& metric_pointer, const std::string& bytes_pointer, double compression,
               const std::string& examples_pointer) {
  out.push_back({d.run, model, task, d.text(metric_pointer + "/name"), d.number(metric_pointer + "/value"),
                 d.number(bytes_pointer), compression, examples_at(d, examples_pointer)});
}

// The models each kind of run measured with a task metric and a file size.
std::vector<ModelPoint> model_points(const RunDocument& d) {
  std::vector<ModelPoint> points;
  if (d.kind == "eval" && d.has("/task_metric")) {
    add_point(points, d, model_name(d.text("/request/model_dir")), d.text("/request/task"), "/task_metric",
              "/model/weights_file_bytes", d.number("/model/compression_vs_fp32"), "/data/examples");
  } else if (d.kind == "ptq_compare" || d.kind == "calib_ablation") {
    const auto& variants = d.at("/variants");
    for (size_t i = 0; i < variants.size(); ++i) {
      const std::string v = fmt::format("/variants/{}", i);
      add_point(points, d, d.text(v + "/name"), d.text("/request/task"), v + "/metric", v + "/file_bytes",
                d.number(v + "/compression_vs_fp32"), v + "/examples");
    }
  } else if (d.kind == "mixed_precision") {
    for (const char* m : {"fp32", "quantized"})
      add_point(points, d, std::string(m) == "fp32" ? "fp32" : "mixed precision", d.text("/request/task"),
                fmt::format("/{}/metric", m), fmt::format("/{}/file_bytes", m),
                d.number(fmt::format("/{}/compression_vs_fp32", m)), fmt::format("/{}/examples", m));
  } else if (d.kind == "pruning") {
    // The start as fp32 (4 bytes a parameter, as compression_vs_fp32 counts everywhere else).
    const std::string task = d.text("/task"), metric = d.text("/final/metric");
    const int64_t examples = examples_at(d, "/data/eval_examples");
    points.push_back(
        {d.run, "dense (start)", task, metric, d.number("/start/value"), d.number("/sizes/fp32_bytes"), 1.0, examples});
    points.push_back({d.run, "pruned (final)", task, metric, d.number("/final/value"),
                      d.number("/sizes/pruned_file_bytes"), d.number("/sizes/compression_vs_fp32"), examples});
  }
  return points;
}

// One chart: the models of each run as one series (the table above names every point), the Pareto
// front as an emphasised dashed line. Runs scored on different numbers of examples say how many.
nlohmann::json tradeoff_chart(const std::vector<ModelPoint>& points, bool by_compression, const std::string& metric) {
  std::set<int64_t> counts;
  for (const ModelPoint& p : points) counts.insert(p.examples);
  std::vector<XySeries> series;
  std::map<std::string, size_t> series_of_run;
  std::vector<TradeoffPoint> tradeoff;
  for (const ModelPoint& p : points) {
    const double x = by_compression ? p.compression : p.file_bytes / 1e6;
    if (!series_of_run.count(p.run)) {
      series_of_run[p.run] = series.size();
      const std::string n = p.examples > 0 ? fmt::format(" (n={})", p.examples) : " (n not recorded)";
      series.push_back({counts.size() > 1 ? p.run + n : p.run, {}, {}, false, false, false});
    }
    series[series_of_run[p.run]].x.push_back(x);
    series[series_of_run[p.run]].y.push_back(p.value);
    tradeoff.push_back({by_compression ? x : -x, p.value});
  }
  XySeries front{"Pareto front", {}, {}, true, true, true};
  for (size_t i : pareto_front(tradeoff)) {
    front.x.push_back(by_compression ? tradeoff[i].x : -tradeoff[i].x);
    front.y.push_back(tradeoff[i].y);
  }
  if (!by_compression) {  // sorted by -size: reverse so the line runs left to right
    std::reverse(front.x.begin(), front.x.end());
    std::reverse(front.y.begin(), front.y.end());
  }
  series.insert(series.begin(), front);
  return xy_chart({by_compression ? "compression vs fp32 (\u00d7, 4 bytes a parameter)" : "model file size (MB, 10^6 bytes)"},
                  {metric + " on the evaluation split"}, series);
}

}  // namespace

std::string metric_text(double value) { return fmt::format("{:.4f}", value); }

std::string megabytes_text(double bytes) { return fmt::format("{:.2f} MB", bytes / 1e6); }

std::string short_unit_name(const std::string& name) {
  static const std::regex layer(R"(^encoder\.layer\.(\d+)(\.|$))");
  std::string s = std::regex_replace(name, layer, "L$1 ");
  if (s.size() > 7 && s.compare(s.size() - 7, 7, ".weight") == 0) s.resize(s.size() - 7);
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

std::vector<std::pair<std::string, std::string>> flattened_settings(const nlohmann::ordered_json& object,
                                                                    const std::string& prefix) {
  std::vector<std::pair<std::string, std::string>> rows;
  if (!object.is_object()) {
    rows.emplace_back(prefix, display_value(object));
    return rows;
  }
  for (const auto& [key, value] : object.items()) {
    const std::string name = prefix.empty() ? key : prefix + "." + key;
    if (value.is_object()) {
      auto nested = flattened_settings(value, name);
      rows.insert(rows.end(), nested.begin(), nested.end());
    } else {
      rows.emplace_back(name, display_value(value));
    }
  }
  return rows;
}

void add_settings(HtmlPage& page, const RunDocument& doc, const std::vector<std::string>& objects) {
  std::vector<std::pair<std::string, std::string>> rows = {
      {"file", doc.path},
      {"schema", doc.display("/schema") + " v" + doc.display("/schema_version")},
      {"squish", doc.display("/squish_version")},
      {"created (UTC)", doc.display("/created_utc")},
      {"host", fmt::format("{}, {} kernels, {} threads ({})", doc.display("/host/cpu"), doc.display("/host/isa"),
                           doc.display("/host/threads"), doc.display("/host/thread_wait_policy"))}};
  for (const std::string& o : objects)
    if (doc.has(o)) {
      auto more = flattened_settings(doc.at(o), o.substr(1));
      rows.insert(rows.end(), more.begin(), more.end());
    }
  page.heading("Settings and versions");
  page.settings(rows);
}

void add_overview_section(HtmlPage& page, const std::vector<RunDocument>& docs) {
  page.begin_section("summary", "Summary", fmt::format("{} run document(s)", docs.size()));
  std::vector<HtmlPage::Row> rows;
  for (const RunDocument& d : docs)
    rows.push_back({d.run, d.kind, d.display("/squish_version"), d.display("/created_utc"),
                    d.display("/host/cpu") + " / " + d.display("/host/isa"), d.path});
  page.table({"run", "kind", "squish", "created (UTC)", "host", "file"}, rows, false);

  std::map<std::string, std::vector<ModelPoint>> by_task;
  for (const RunDocument& d : docs)
    for (ModelPoint& p : model_points(d)) by_task[p.task].push_back(std::move(p));
  for (const auto& [task, points] : by_task) {
    std::string metric = points.front().metric;
    for (const ModelPoint& p : points)
      if (p.metric != metric) metric = "task metric";
    page.heading(fmt::format("{}: {} against size, every model measured ({} models)", task, metric, points.size()));
    std::set<int64_t> counts;
    std::vector<HtmlPage::Row> table;
    for (const ModelPoint& p : points) {
      counts.insert(p.examples);
      table.push_back({p.run + ": " + p.model, p.metric, metric_text(p.value),
                       p.examples > 0 ? std::to_string(p.examples) : std::string("not recorded"),
                       megabytes_text(p.file_bytes), fmt::format("{:.2f}\u00d7", p.compression)});
    }
    page.table({"model", "metric", "value", "examples", "file size", "compression"}, table);
    if (counts.size() > 1)
      page.paragraph("These models were scored on different numbers of examples (the examples column): "
                     "the charts' runs are labelled with theirs, and a difference between subsets is not a "
                     "difference between models.");
    page.chart(fmt::format("{}: {} against compression (Pareto front: no model is both smaller and better)", task,
                           metric),
               tradeoff_chart(points, true, metric));
    page.chart(fmt::format("{}: {} against model file size", task, metric), tradeoff_chart(points, false, metric));
  }
}

void add_run_section(HtmlPage& page, const RunDocument& doc, const std::string& anchor) {
  page.begin_section(anchor, doc.run + " \u2014 " + doc.kind, doc.path);
  if (doc.kind == "eval") add_eval_section(page, doc);
  else if (doc.kind == "quantization") add_quantization_section(page, doc);
  else if (doc.kind == "ptq_compare" || doc.kind == "calib_ablation") add_ptq_section(page, doc);
  else if (doc.kind == "mixed_precision") add_mixed_precision_section(page, doc);
  else if (doc.kind == "sensitivity") add_sensitivity_section(page, doc);
  else if (doc.kind == "bit_plan") add_bit_plan_section(page, doc);
  else if (doc.kind == "training") add_training_section(page, doc);
  else if (doc.kind == "pruning") add_pruning_section(page, doc);
  else if (doc.kind == "compare") add_compare_section(page, doc);
  else {
    page.paragraph("This page does not chart '" + doc.kind + "' documents; their settings follow.");
    std::vector<std::string> objects;
    for (const auto& [key, value] : doc.json.items())
      if (value.is_object() && key != "host") objects.push_back("/" + key);
    add_settings(page, doc, objects);
  }
}

}  // namespace squish
