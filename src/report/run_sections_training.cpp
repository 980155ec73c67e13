// Sections for training (training.json) and pruning (pruning.json) runs: the curves of a training
// run and, for pruning, the metric round by round and where the zeros are.
#include <map>

#include <fmt/format.h>

#include "report/chart_spec.h"
#include "report/run_sections.h"

namespace squish {
namespace {

// A few thousand points draw instantly and still show every bump a reader can see.
constexpr size_t kCurvePoints = 2000;

// The tensor's role inside its layer: its name after the layer's index ("attention.self.qkv" of
// "encoder.layer.3.attention.self.qkv", "mlp.down_proj" of "model.layers.3.mlp.down_proj"), or its
// whole name outside the layers.
std::string tensor_kind(const std::string& name, int64_t layer) {
  std::string s = name;
  const std::string index = fmt::format(".{}.", layer);
  if (const size_t at = s.find(index); layer >= 0 && at != std::string::npos) s = s.substr(at + index.size());
  if (s.size() > 7 && s.compare(s.size() - 7, 7, ".weight") == 0) s.resize(s.size() - 7);
  return s;
}

// Sparsity of every pruned tensor, as bars per layer with one series per tensor role.
void add_sparsity_per_layer(HtmlPage& page, const RunDocument& d, const std::string& sparsity_pointer,
                            const std::string& stage) {
  const auto& tensors = d.at(sparsity_pointer + "/tensors");
  std::vector<std::string> categories;
  std::map<std::string, size_t> category_index;
  std::map<std::string, std::map<size_t, double>> by_kind;
  for (size_t t = 0; t < tensors.size(); ++t) {
    const std::string p = fmt::format("{}/tensors/{}", sparsity_pointer, t);
    const int64_t layer = static_cast<int64_t>(d.number(p + "/layer"));
    const std::string category = layer >= 0 ? fmt::format("L{}", layer) : "outside the layers";
    if (!category_index.count(category)) {
      category_index[category] = categories.size();
      categories.push_back(category);
    }
    by_kind[tensor_kind(d.text(p + "/name"), layer)][category_index[category]] = 100.0 * d.number(p + "/sparsity");
  }
  std::vector<BarSeries> series;
  for (const auto& [kind, values] : by_kind) {
    BarSeries s{kind, std::vector<double>(categories.size(), 0.0)};
    for (const auto& [c, v] : values) s.values[c] = v;
    series.push_back(std::move(s));
  }
  page.chart(fmt::format("Sparsity of each pruned tensor, by layer ({})", stage),
             bar_chart(categories, {"layer"}, {"zeros (% of the tensor's weights)", false, true}, series));
}

}  // namespace

void add_training_section(HtmlPage& page, const RunDocument& d) {
  const std::string metric = d.display("/saved/dev/metric");
  page.heading("Result");
  page.table({"saved step", "rule", metric + " (dev)", "accuracy", "F1", "file size", "train time", "tokens/s"},
             {{d.display("/saved/step"), d.display("/saved/rule"), metric_text(d.number("/saved/dev/value")),
               metric_text(d.number("/saved/dev/accuracy")), metric_text(d.number("/saved/dev/f1")),
               megabytes_text(d.number("/saved/model_file_bytes")),
               fmt::format("{:.0f} s", d.number("/throughput/train_seconds")),
               fmt::format("{:.0f}", d.number("/throughput/tokens_per_second"))}});
  const auto& steps = d.at("/steps");
  XySeries loss{"training loss (per optimizer step)", {}, {}}, lr{"learning rate", {}, {}},
      norm{"gradient norm before clipping", {}, {}};
  for (size_t i = 0; i < steps.size(); ++i) {
    const std::string p = fmt::format("/steps/{}", i);
    const double step = d.number(p + "/step");
    loss.x.push_back(step);
    loss.y.push_back(d.number(p + "/loss"));
    lr.x.push_back(step);
    lr.y.push_back(d.number(p + "/lr"));
    if (d.has(p + "/grad_norm")) {
      norm.x.push_back(step);
      norm.y.push_back(d.number(p + "/grad_norm"));
    }
  }
  page.chart("Training loss", xy_chart({"optimizer step"}, {"cross-entropy loss (nats)"}, {thin_series(loss, kCurvePoints)}));
  page.chart("Learning rate schedule", xy_chart({"optimizer step"}, {"learning rate", false, false, true}, {thin_series(lr, kCurvePoints)}));
  const auto& evals = d.at("/evaluations");
  XySeries value{metric + " (selection metric)", {}, {}}, accuracy{"accuracy", {}, {}, true, true},
      f1{"F1", {}, {}, true, true};
  std::vector<HtmlPage::Row> rows;
  for (size_t i = 0; i < evals.size(); ++i) {
    const std::string p = fmt::format("/evaluations/{}", i);
    const double step = d.number(p + "/step");
    value.x.push_back(step);
    value.y.push_back(d.number(p + "/value"));
    accuracy.x.push_back(step);
    accuracy.y.push_back(d.number(p + "/accuracy"));
    f1.x.push_back(step);
    f1.y.push_back(d.number(p + "/f1"));
    rows.push_back({d.display(p + "/step"), fmt::format("{:.2f}", d.number(p + "/epoch")),
                    metric_text(d.number(p + "/value")), metric_text(d.number(p + "/accuracy")),
                    metric_text(d.number(p + "/f1"))});
  }
  // The selection metric is accuracy or F1 itself for the GLUE tasks: drawn once, not twice.
  std::vector<XySeries> dev_curves{value};
  if (metric != "accuracy") dev_curves.push_back(accuracy);
  if (metric != "f1") dev_curves.push_back(f1);
  if (!evals.empty())
    page.chart("Dev metric at each evaluation",
               xy_chart({"optimizer step"}, {"metric on " + d.display("/data/eval_split") + " (0\u20131)"}, dev_curves));
  if (!norm.x.empty())
    page.chart("Gradient norm", xy_chart({"optimizer step"}, {"global L2 norm of the gradient"}, {thin_series(norm, kCurvePoints)}));
  page.heading("Evaluations");
  page.table({"step", "epoch", metric + " (selection)", "accuracy", "F1"}, rows);
  add_settings(page, d, {"/model_dir", "/task", "/started_from", "/recipe", "/data", "/throughput"});
}

void add_pruning_section(HtmlPage& page, const RunDocument& d) {
  const std::string metric = d.display("/final/metric");
  page.heading("Result");
  page.table({"method", "sparsity", "parameters", metric + " at start", metric + " final", "change (points)",
              "pruned file", "compression vs fp32"},
             {{d.display("/method"),
               d.has("/final/sparsity") ? fmt::format("{:.1f}%", 100.0 * d.number("/final/sparsity")) : "not measured",
               d.display("/sizes/dense_parameters") + " \u2192 " + d.display("/sizes/final_parameters"),
               metric_text(d.number("/start/value")), metric_text(d.number("/final/value")),
               fmt::format("{:+.2f}", 100.0 * d.number("/final/delta_vs_start")),
               megabytes_text(d.number("/sizes/pruned_file_bytes")),
               fmt::format("{:.2f}\u00d7", d.number("/sizes/compression_vs_fp32"))}});
  const auto& stages = d.at("/stages");
  std::vector<HtmlPage::Row> rows;
  XySeries tuned{"after fine-tuning", {}, {}}, pruned{"right after pruning", {}, {}, true, true},
      sparsity{"sparsity of the prunable weights", {}, {}};
  std::string last_with_sparsity;
  for (size_t i = 0; i < stages.size(); ++i) {
    const std::string p = fmt::format("/stages/{}", i);
    const std::string name = d.text(p + "/name");
    const double round = d.number(p + "/round"), value = d.number(p + "/dev/value");
    const bool just_pruned = name.find("pruned to") != std::string::npos;
    (just_pruned ? pruned : tuned).x.push_back(round);
    (just_pruned ? pruned : tuned).y.push_back(value);
    std::string sparsity_cell = "not measured";
    if (d.has(p + "/sparsity")) {
      last_with_sparsity = p;
      sparsity.x.push_back(round);
      sparsity.y.push_back(100.0 * d.number(p + "/sparsity/sparsity"));
      sparsity_cell = fmt::format("{:.1f}%", sparsity.y.back());
    }
    rows.push_back({name, d.display(p + "/round"), fmt::format("{:.1f}%", 100.0 * d.number(p + "/target_sparsity")),
                    sparsity_cell, metric_text(value), d.display(p + "/train_steps"),
                    fmt::format("{:.1f} s", d.number(p + "/seconds"))});
  }
  page.heading("Stages");
  page.table({"stage", "round", "target sparsity", "sparsity", metric + " (dev)", "train steps", "time"}, rows);
  page.chart(fmt::format("Dev {} per round", metric),
             xy_chart({"round (0 = dense start)", false, false, false, true}, {metric + " on " + d.display("/data/eval_split")}, {tuned, pruned}));
  if (!sparsity.x.empty())
    page.chart("Sparsity per round", xy_chart({"round (0 = dense start)", false, false, false, true},
                                              {"zeros (% of prunable weights)", false, true}, {sparsity}));
  if (!last_with_sparsity.empty()) add_sparsity_per_layer(page, d, last_with_sparsity + "/sparsity", d.text(last_with_sparsity + "/name"));
  if (d.has("/structured")) {
    const auto heads = d.at("/structured/layer_heads").get<std::vector<double>>();
    const auto widths = d.at("/structured/layer_intermediate_sizes").get<std::vector<double>>();
    std::vector<std::string> layers;
    for (size_t l = 0; l < heads.size(); ++l) layers.push_back(fmt::format("L{}", l));
    page.chart("Attention heads kept per layer",
               bar_chart(layers, {"layer"}, {"heads", false, true}, {{"heads kept", heads}}));
    page.chart("FFN width kept per layer",
               bar_chart(layers, {"layer"}, {"intermediate neurons", false, true}, {{"neurons kept", widths}}));
    page.paragraph(fmt::format("Forward speed-up of the shrunk model: {:.2f}\u00d7.", d.number("/structured/speedup")));
  }
  add_settings(page, d, {"/model_dir", "/task", "/started_from", "/settings", "/recipe", "/data", "/sizes"});
}

}  // namespace squish
