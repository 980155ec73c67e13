#include "eval/compare_report.h"

#include <cmath>

#include <fmt/format.h>

#include "core/human_format.h"
#include "eval/run_header.h"

namespace squish {
namespace {

using nlohmann::ordered_json;

std::string label_name(const CompareResult& r, int id) {
  auto it = r.id2label.find(id);
  return it == r.id2label.end() ? std::to_string(id) : it->second;
}

ordered_json histogram_json(const ConfidenceHistogram& h, bool labeled) {
  const size_t bins = h.all.size();
  ordered_json edges = ordered_json::array();
  for (size_t b = 0; b <= bins; ++b) edges.push_back(h.lo + (h.hi - h.lo) * static_cast<double>(b) / static_cast<double>(bins));
  ordered_json j = {{"lo", h.lo}, {"hi", h.hi}, {"bins", bins}, {"edges", edges}, {"all", h.all}};
  if (labeled) j["correct"] = h.correct, j["wrong"] = h.wrong;
  return j;
}

ordered_json model_json(const ComparedModel& m, const ModelConfidence& c, bool labeled) {
  ordered_json j = {{"source", m.source}};
  if (labeled) j["accuracy"] = m.accuracy;
  if (labeled && m.score) j["task_metric"] = {{"name", m.score->headline}, {"value", m.score->value}};
  j["confidence"] = {{"mean", c.mean}};
  if (labeled) {
    j["confidence"]["mean_correct"] = c.mean_correct;
    j["confidence"]["mean_wrong"] = c.mean_wrong;
    j["confidence"]["correct"] = c.correct;
    j["confidence"]["wrong"] = c.wrong;
  }
  j["histogram"] = histogram_json(c.histogram, labeled);
  return j;
}

ordered_json breakdown_counts(const Breakdown& b) {
  ordered_json j;
  for (int o = 0; o < kOutcomes; ++o) j[std::string(outcome_name(static_cast<Outcome>(o)))] = b.counts[static_cast<size_t>(o)];
  j["total"] = b.total();
  return j;
}

ordered_json example_json(const CompareResult& r, const ExampleComparison& e) {
  auto text = r.texts.find(e.index);
  ordered_json j = {{"index", e.index}, {"text", text == r.texts.end() ? "" : text->second.text}};
  if (text != r.texts.end() && text->second.has_pair) j["text_pair"] = text->second.text_pair;
  j["label"] = e.label;
  j["label_name"] = e.label >= 0 ? label_name(r, e.label) : "";
  j["reference_pred"] = e.reference_pred;
  j["compressed_pred"] = e.compressed_pred;
  j["reference_confidence"] = e.reference_confidence;
  j["compressed_confidence"] = e.compressed_confidence;
  j["flip"] = e.flip;
  return j;
}

ordered_json examples_json(const CompareResult& r, const std::vector<size_t>& positions) {
  ordered_json out = ordered_json::array();
  for (size_t p : positions) out.push_back(example_json(r, r.analysis.examples[p]));
  return out;
}

// "0.8123" or "n/a" for an undefined statistic (NaN).
std::string number(double v) { return std::isnan(v) ? "n/a" : fmt::format("{:.4f}", v); }

std::string short_text(const CompareResult& r, int64_t index) {
  auto it = r.texts.find(index);
  if (it == r.texts.end()) return "";
  std::string t = it->second.text;
  if (it->second.has_pair) t += " || " + it->second.text_pair;
  while (!t.empty() && t.back() == ' ') t.pop_back();
  // Cut on a UTF-8 character boundary, never inside one.
  if (t.size() > 70) {
    size_t cut = 67;
    while (cut > 0 && (static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) --cut;
    t = t.substr(0, cut) + "...";
  }
  return "  \"" + t + "\"";
}

}  // namespace

ordered_json compare_json(const CompareResult& r) {
  const CompareRequest& q = r.request;
  const ErrorAnalysis& a = r.analysis;
  ordered_json j = run_header("compare", 1);
  j["request"] = {{"reference", q.reference_dir},
                  {"model", q.model_dir},
                  {"reference_predictions", q.reference_predictions},
                  {"model_predictions", q.model_predictions},
                  {"task", q.task},
                  {"split", q.split},
                  {"data_dir", q.data_dir},
                  {"max_length", q.options.max_length},
                  {"max_samples", q.max_samples},
                  {"seed", q.seed},
                  {"histogram_bins", q.analysis.histogram_bins},
                  {"examples_per_outcome", q.analysis.examples_per_outcome}};
  ordered_json labels = ordered_json::object();
  for (const auto& [id, name] : r.id2label) labels[std::to_string(id)] = name;
  j["data"] = {{"path", r.data_path}, {"examples", a.examples.size()}, {"num_labels", a.num_labels},
               {"labeled", a.labeled}, {"id2label", labels}};
  j["models"] = {{"reference", model_json(r.reference, a.reference, a.labeled)},
                 {"compressed", model_json(r.compressed, a.compressed, a.labeled)}};
  if (a.labeled) {
    j["breakdown"] = breakdown_counts(a.breakdown);
    ordered_json by_label = ordered_json::array();
    for (size_t g = 0; g < a.breakdown_by_label.size(); ++g) {
      ordered_json row = {{"label", g}, {"name", label_name(r, static_cast<int>(g))}};
      row.update(breakdown_counts(a.breakdown_by_label[g]));
      by_label.push_back(row);
    }
    j["breakdown"]["by_label"] = by_label;
  }
  ordered_json names = ordered_json::array(), rows = ordered_json::array();
  for (int p = 0; p < a.num_labels; ++p) {
    names.push_back(label_name(r, p));
    ordered_json row = ordered_json::array();
    for (int c = 0; c < a.num_labels; ++c) row.push_back(a.agreement[static_cast<size_t>(p * a.num_labels + c)]);
    rows.push_back(row);
  }
  j["agreement"] = {{"rows", "reference_pred"}, {"columns", "compressed_pred"}, {"labels", names}, {"counts", rows},
                    {"agreement_rate", a.agreement_rate}, {"flips", a.flips}};
  j["correlation"] = {{"of", "p_class1"}, {"pearson", a.pearson_p1}, {"spearman", a.spearman_p1}};
  j["drift"] = {{"mean_abs_logit_delta", a.drift.mean_abs_logit_delta}, {"max_abs_logit_delta", a.drift.max_abs_logit_delta},
                {"mean_kl", a.drift.mean_kl}, {"max_kl", a.drift.max_kl}};
  if (r.multiple_choice) {
    const MultipleChoiceAgreement& m = *r.multiple_choice;
    j["multiple_choice"] = {{"reference", {{"acc", m.reference_acc}, {"acc_norm", m.reference_acc_norm}}},
                            {"compressed", {{"acc", m.compressed_acc}, {"acc_norm", m.compressed_acc_norm}}},
                            {"acc_norm_agreement_rate", a.agreement_rate},
                            {"acc_agreement_rate", m.acc_agreement_rate},
                            {"acc_flips", m.acc_flips},
                            {"mean_abs_loglikelihood_delta", a.drift.mean_abs_logit_delta},
                            {"max_abs_loglikelihood_delta", a.drift.max_abs_logit_delta},
                            {"loglikelihood_pearson", m.loglikelihood_pearson}};
  }
  ordered_json examples = ordered_json::object();
  if (a.labeled)
    for (int o = 0; o < kOutcomes; ++o)
      examples[std::string(outcome_name(static_cast<Outcome>(o)))] = examples_json(r, a.representative[static_cast<size_t>(o)]);
  examples["top_flips"] = examples_json(r, a.top_flips);
  j["examples"] = examples;
  ordered_json per_example = ordered_json::array();
  for (const ExampleComparison& e : a.examples)
    per_example.push_back({{"index", e.index}, {"label", e.label}, {"reference_pred", e.reference_pred},
                           {"compressed_pred", e.compressed_pred}, {"reference_confidence", e.reference_confidence},
                           {"compressed_confidence", e.compressed_confidence}, {"reference_p1", e.reference_p1},
                           {"compressed_p1", e.compressed_p1}, {"kl", e.kl}});
  j["per_example"] = per_example;
  j["warnings"] = r.warnings;
  j["timing"] = {{"reference_seconds", r.reference.seconds}, {"compressed_seconds", r.compressed.seconds},
                 {"wall_seconds", r.wall_seconds}};
  return j;
}

std::string compare_table(const CompareResult& r) {
  const ErrorAnalysis& a = r.analysis;
  const CompareRequest& q = r.request;
  std::string s = fmt::format("compare {} {} ({} examples)\n  reference  {}\n  compressed {}\n",
                              q.task.empty() ? "predictions" : q.task, q.task.empty() ? "" : q.split,
                              format_count(static_cast<int64_t>(a.examples.size())), r.reference.source,
                              r.compressed.source);
  s += fmt::format("  {:<28}{:>11}{:>12}\n", "", "reference", "compressed");
  if (r.multiple_choice) {
    const MultipleChoiceAgreement& m = *r.multiple_choice;
    s += fmt::format("  {:<28}{:>11.4f}{:>12.4f}\n", "acc_norm", m.reference_acc_norm, m.compressed_acc_norm);
    s += fmt::format("  {:<28}{:>11.4f}{:>12.4f}\n", "acc", m.reference_acc, m.compressed_acc);
  } else if (a.labeled) {
    s += fmt::format("  {:<28}{:>11.4f}{:>12.4f}\n", "accuracy", r.reference.accuracy, r.compressed.accuracy);
    if (r.reference.score && r.reference.score->headline != "accuracy")
      s += fmt::format("  {:<28}{:>11.4f}{:>12.4f}\n", r.reference.score->headline, r.reference.score->value,
                       r.compressed.score->value);
  }
  s += fmt::format("  {:<28}{:>11}{:>12}\n", "mean confidence", number(a.reference.mean), number(a.compressed.mean));
  if (a.labeled) {
    s += fmt::format("  {:<28}{:>11}{:>12}\n", "  on correct examples", number(a.reference.mean_correct),
                     number(a.compressed.mean_correct));
    s += fmt::format("  {:<28}{:>11}{:>12}\n", "  on wrong examples", number(a.reference.mean_wrong),
                     number(a.compressed.mean_wrong));
    s += fmt::format("  breakdown: both right {}, both wrong {}, only reference wrong {}, only compressed wrong {}\n",
                     a.breakdown.at(Outcome::kBothRight), a.breakdown.at(Outcome::kBothWrong),
                     a.breakdown.at(Outcome::kOnlyReferenceWrong), a.breakdown.at(Outcome::kOnlyCompressedWrong));
  }
  s += fmt::format("  agreement {:.2f}% ({} flips); rows reference pred, columns compressed pred:\n",
                   100.0 * a.agreement_rate, a.flips);
  size_t width = 8;
  for (int p = 0; p < a.num_labels; ++p) width = std::max(width, label_name(r, p).size() + 2);
  s += fmt::format("  {:>{}}", "", width);
  for (int c = 0; c < a.num_labels; ++c) s += fmt::format("{:>{}}", label_name(r, c), width);
  s += "\n";
  for (int p = 0; p < a.num_labels; ++p) {
    s += fmt::format("  {:>{}}", label_name(r, p), width);
    for (int c = 0; c < a.num_labels; ++c)
      s += fmt::format("{:>{}}", format_count(a.agreement[static_cast<size_t>(p * a.num_labels + c)]), width);
    s += "\n";
  }
  if (r.multiple_choice) {
    const MultipleChoiceAgreement& m = *r.multiple_choice;
    s += fmt::format("  (acc_norm's choices above; acc's choices agree on {:.2f}%, {} flips)\n",
                     100.0 * m.acc_agreement_rate, m.acc_flips);
    s += fmt::format("  log-likelihood drift: mean |dll| {:.4f}, max {:.4f} nats a choice; Pearson {}\n",
                     a.drift.mean_abs_logit_delta, a.drift.max_abs_logit_delta, number(m.loglikelihood_pearson));
  } else {
    s +=
        fmt::format("  p(class 1) correlation: Pearson {}, Spearman {}\n", number(a.pearson_p1), number(a.spearman_p1));
    s += fmt::format(
        "  logit drift: mean |dlogit| {:.4f}, max {:.4f}; KL(ref || compressed) mean {:.3g}, max {:.3g} nats\n",
        a.drift.mean_abs_logit_delta, a.drift.max_abs_logit_delta, a.drift.mean_kl, a.drift.max_kl);
  }
  if (!a.top_flips.empty()) {
    s += "  most confident flips (gold: reference -> compressed):\n";
    for (size_t p : a.top_flips) {
      const ExampleComparison& e = a.examples[p];
      s += fmt::format("    #{:<6} {}: {} ({:.2f}) -> {} ({:.2f}){}\n", e.index, e.label >= 0 ? label_name(r, e.label) : "?",
                       label_name(r, e.reference_pred), e.reference_confidence, label_name(r, e.compressed_pred),
                       e.compressed_confidence, short_text(r, e.index));
    }
  }
  s += fmt::format("  wrote {}/compare.json\n", q.output_dir);
  return s;
}

}  // namespace squish
