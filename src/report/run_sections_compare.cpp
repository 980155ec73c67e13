// The section for `squish compare` (compare.json, schema squish.compare v1, docs/run_folder.md):
// where a compressed model disagrees with its reference: confidence, the breakdown, the agreement
// matrix, confidence histograms, the confidence scatter and representative flips. HellaSwag's
// (multiple_choice): acc and acc_norm, both agreements and the log-likelihood drift instead of
// P(class 1), which means nothing for four endings.
#include <fmt/format.h>

#include "report/chart_spec.h"
#include "report/run_sections.h"

namespace squish {
namespace {

// Undefined statistics are JSON null in compare.json (a mean over no examples).
std::string maybe_metric(const RunDocument& d, const std::string& pointer) {
  return d.has(pointer) && d.at(pointer).is_number() ? metric_text(d.number(pointer)) : "\u2014";
}

// A few thousand dots show the shape; more only slow the page.
constexpr size_t kScatterPoints = 4000;

void add_histograms(HtmlPage& page, const RunDocument& d, const char* model, const std::string& title) {
  const std::string h = fmt::format("/models/{}/histogram", model);
  if (!d.has(h)) return;
  const auto edges = d.at(h + "/edges").get<std::vector<double>>();
  std::vector<BarSeries> series;
  if (d.has(h + "/correct") && d.has(h + "/wrong")) {
    series.push_back({"correct", d.at(h + "/correct").get<std::vector<double>>()});
    series.push_back({"wrong", d.at(h + "/wrong").get<std::vector<double>>()});
  } else {
    series.push_back({"all examples", d.at(h + "/all").get<std::vector<double>>()});
  }
  page.chart("Confidence histogram: " + title,
             histogram_chart(edges, {"confidence (softmax probability of the predicted class)"}, {"examples", false, true},
                             series));
}

void add_examples(HtmlPage& page, const RunDocument& d, const std::string& kind, const std::string& title) {
  const std::string p = "/examples/" + kind;
  if (!d.has(p) || d.at(p).empty()) return;
  std::vector<HtmlPage::Row> rows;
  const auto& list = d.at(p);
  for (size_t i = 0; i < list.size() && i < 10; ++i) {
    const std::string e = fmt::format("{}/{}", p, i);
    std::string text = d.display(e + "/text");
    if (d.has(e + "/text_pair") && !d.display(e + "/text_pair").empty()) text += "  \u2016  " + d.display(e + "/text_pair");
    rows.push_back({d.display(e + "/index"), text, d.display(e + "/label_name"),
                    fmt::format("{} ({})", d.display(e + "/reference_pred"), maybe_metric(d, e + "/reference_confidence")),
                    fmt::format("{} ({})", d.display(e + "/compressed_pred"), maybe_metric(d, e + "/compressed_confidence"))});
  }
  page.heading(fmt::format("{} ({} of {})", title, rows.size(), list.size()));
  page.table({"example", "text", "gold", "reference: prediction (confidence)", "compressed: prediction (confidence)"}, rows,
             false);
}

}  // namespace

void add_compare_section(HtmlPage& page, const RunDocument& d) {
  std::vector<HtmlPage::Row> models;
  for (const char* m : {"reference", "compressed"}) {
    const std::string p = fmt::format("/models/{}", m);
    models.push_back({m, d.display(p + "/source"), maybe_metric(d, p + "/accuracy"),
                      d.has(p + "/task_metric") ? d.display(p + "/task_metric/name") + " " + maybe_metric(d, p + "/task_metric/value") : "\u2014",
                      maybe_metric(d, p + "/confidence/mean"), maybe_metric(d, p + "/confidence/mean_correct"),
                      maybe_metric(d, p + "/confidence/mean_wrong")});
  }
  page.heading("Models");
  page.table({"model", "source", "accuracy", "task metric", "mean confidence", "on correct", "on wrong"}, models, false);

  if (d.has("/breakdown")) {
    std::vector<HtmlPage::Row> rows;
    auto row = [&](const std::string& name, const std::string& p) {
      rows.push_back({name, d.display(p + "/both_right"), d.display(p + "/both_wrong"),
                      d.display(p + "/only_reference_wrong"), d.display(p + "/only_compressed_wrong"), d.display(p + "/total")});
    };
    row("all examples", "/breakdown");
    const auto& by_label = d.at("/breakdown/by_label");
    for (size_t i = 0; i < by_label.size(); ++i)
      row("gold " + d.display(fmt::format("/breakdown/by_label/{}/name", i)), fmt::format("/breakdown/by_label/{}", i));
    page.heading("Breakdown (examples)");
    page.table({"", "both right", "both wrong", "only reference wrong", "only compressed wrong", "total"}, rows);
  }

  page.heading(fmt::format("Agreement matrix (agreement {:.2f}%, {} flips)", 100.0 * d.number("/agreement/agreement_rate"),
                           d.display("/agreement/flips")));
  page.count_matrix("reference predicts", "compressed predicts", d.at("/agreement/labels").get<std::vector<std::string>>(),
                    d.at("/agreement/counts").get<std::vector<std::vector<long long>>>());
  const bool multiple_choice = d.has("/multiple_choice");
  if (multiple_choice)
    page.settings(
        {{"acc_norm: reference, compressed", maybe_metric(d, "/multiple_choice/reference/acc_norm") + ", " +
                                                 maybe_metric(d, "/multiple_choice/compressed/acc_norm")},
         {"acc: reference, compressed", maybe_metric(d, "/multiple_choice/reference/acc") + ", " +
                                            maybe_metric(d, "/multiple_choice/compressed/acc")},
         {"acc_norm's choices agree (the matrix above)", maybe_metric(d, "/multiple_choice/acc_norm_agreement_rate")},
         {"acc's choices agree", maybe_metric(d, "/multiple_choice/acc_agreement_rate")},
         {"mean |\u0394 log-likelihood| per ending (nats)",
          maybe_metric(d, "/multiple_choice/mean_abs_loglikelihood_delta")},
         {"max |\u0394 log-likelihood| (nats)", maybe_metric(d, "/multiple_choice/max_abs_loglikelihood_delta")},
         {"Pearson r of the log-likelihoods", maybe_metric(d, "/multiple_choice/loglikelihood_pearson")}});
  else
    page.settings({{"Pearson r of P(class 1)", maybe_metric(d, "/correlation/pearson")},
                   {"Spearman \u03c1 of P(class 1)", maybe_metric(d, "/correlation/spearman")},
                   {"mean |\u0394logit|", maybe_metric(d, "/drift/mean_abs_logit_delta")},
                   {"max |\u0394logit|", maybe_metric(d, "/drift/max_abs_logit_delta")},
                   {"mean KL(p_ref \u2016 p_cmp) (nats)", maybe_metric(d, "/drift/mean_kl")},
                   {"max KL (nats)", maybe_metric(d, "/drift/max_kl")}});

  add_histograms(page, d, "reference", "reference (" + d.display("/models/reference/source") + ")");
  add_histograms(page, d, "compressed", "compressed (" + d.display("/models/compressed/source") + ")");
  if (!multiple_choice && d.has("/per_example") && !d.at("/per_example").empty()) {
    const auto& per = d.at("/per_example");
    XySeries agree{"same prediction", {}, {}, false}, flip{"flipped", {}, {}, false};
    const size_t stride = per.size() > kScatterPoints ? (per.size() + kScatterPoints - 1) / kScatterPoints : 1;
    for (size_t i = 0; i < per.size(); ++i) {
      const std::string p = fmt::format("/per_example/{}", i);
      const bool flipped = d.at(p + "/reference_pred") != d.at(p + "/compressed_pred");
      if (!flipped && i % stride != 0) continue;  // every flip is drawn; agreeing points are thinned
      XySeries& s = flipped ? flip : agree;
      s.x.push_back(d.number(p + "/reference_p1"));
      s.y.push_back(d.number(p + "/compressed_p1"));
    }
    const XySeries diagonal{"y = x (identical)", {0, 1}, {0, 1}, true, true};
    page.chart(fmt::format("P(class 1): compressed against reference (Pearson {}, Spearman {})",
                           maybe_metric(d, "/correlation/pearson"), maybe_metric(d, "/correlation/spearman")),
               xy_chart({"reference P(class 1)"}, {"compressed P(class 1)"}, {agree, flip, diagonal}));
  }
  add_examples(page, d, "top_flips", "Flips, most confident first");
  add_examples(page, d, "only_compressed_wrong", "Only the compressed model wrong");
  add_examples(page, d, "only_reference_wrong", "Only the reference wrong");
  add_settings(page, d, {"/request", "/data", "/timing"});
}

}  // namespace squish
