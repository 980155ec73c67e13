#include "report/eval_report.h"

#include <fmt/format.h>

namespace squish {

nlohmann::json eval_result_json(const EvalResult& r) {
  nlohmann::json j;
  j["task"] = r.task;
  j["split"] = r.split;
  j["data_path"] = r.data_path;
  j["model"] = r.model_source;
  j["examples"] = r.examples;
  j["labeled"] = r.labeled;
  if (r.labeled) {
    const ClassificationMetrics& m = r.metrics;
    j["metrics"] = {{"accuracy", m.accuracy}, {"precision", m.precision}, {"recall", m.recall}, {"f1", m.f1},
                    {"macro_f1", m.macro_f1}, {"mcc", m.mcc}};
    nlohmann::json glue = nlohmann::json::object();
    for (const auto& [name, value] : r.score.all) glue[name] = value;
    j["task_metric"] = {{"name", r.score.headline}, {"value", r.score.value}, {"all", glue}};
    nlohmann::json rows = nlohmann::json::array();
    for (int g = 0; g < r.confusion.num_labels; ++g) {
      nlohmann::json row = nlohmann::json::array();
      for (int p = 0; p < r.confusion.num_labels; ++p) row.push_back(r.confusion.at(g, p));
      rows.push_back(row);
    }
    j["confusion_matrix"] = {{"rows", "gold"}, {"columns", "pred"}, {"counts", rows}};
  }
  j["model_size"] = {{"parameters", r.parameters},
                     {"parameter_bytes_fp32", r.parameter_bytes},
                     {"weights_file_bytes", r.model_file_bytes}};
  j["timing"] = {{"wall_seconds", r.wall_seconds},
                 {"tokenize_seconds", r.tokenize_seconds},
                 {"forward_seconds", r.forward_seconds},
                 {"examples_per_second", r.examples_per_second},
                 {"threads", r.threads}};
  j["tokens"] = {{"real", r.total_tokens}, {"padded", r.padded_tokens}};
  return j;
}

std::string predictions_jsonl(const EvalResult& r) {
  std::string out;
  for (const auto& p : r.predictions) {
    nlohmann::json j = {{"index", p.index}, {"label", p.label}, {"pred", p.pred}, {"logits", p.logits}};
    out += j.dump();
    out += '\n';
  }
  return out;
}

std::string eval_result_table(const EvalResult& r) {
  std::string s = fmt::format("{} {} ({} examples) — {}\n", r.task, r.split, r.examples, r.model_source);
  if (r.labeled) {
    const ClassificationMetrics& m = r.metrics;
    s += fmt::format("  {:<22}{:>10}\n", "metric", "value");
    s += fmt::format("  {:<22}{:>10.4f}\n", "accuracy", m.accuracy);
    s += fmt::format("  {:<22}{:>10.4f}\n", "precision (label 1)", m.precision);
    s += fmt::format("  {:<22}{:>10.4f}\n", "recall (label 1)", m.recall);
    s += fmt::format("  {:<22}{:>10.4f}\n", "f1 (label 1)", m.f1);
    s += fmt::format("  {:<22}{:>10.4f}\n", "macro f1", m.macro_f1);
    s += fmt::format("  {:<22}{:>10.4f}\n", "mcc", m.mcc);
    s += fmt::format("  {:<22}{:>10.4f}\n", "GLUE " + r.score.headline, r.score.value);
    s += "  confusion (rows gold, cols pred):\n";
    for (int g = 0; g < r.confusion.num_labels; ++g) {
      s += "   ";
      for (int p = 0; p < r.confusion.num_labels; ++p) s += fmt::format("{:>8}", r.confusion.at(g, p));
      s += "\n";
    }
  } else {
    s += "  unlabeled split: predictions only\n";
  }
  s += fmt::format("  parameters {}  ({:.1f} MB fp32, weights file {:.1f} MB)\n", r.parameters,
                   static_cast<double>(r.parameter_bytes) / 1e6, static_cast<double>(r.model_file_bytes) / 1e6);
  s += fmt::format("  wall {:.2f} s (tokenize {:.2f} s, forward {:.2f} s), {:.1f} examples/s, {} threads, padding {:.1f}%\n",
                   r.wall_seconds, r.tokenize_seconds, r.forward_seconds, r.examples_per_second, r.threads,
                   r.padded_tokens > 0 ? 100.0 * static_cast<double>(r.padded_tokens - r.total_tokens) /
                                             static_cast<double>(r.padded_tokens)
                                       : 0.0);
  return s;
}

}  // namespace squish
