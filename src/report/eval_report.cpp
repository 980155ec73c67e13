#include "report/eval_report.h"

#include <fmt/format.h>

#include "core/human_format.h"
#include "eval/run_header.h"

namespace squish {
namespace {

// "SST-2 accuracy", "MRPC f1", "IMDB accuracy": IMDB is not a GLUE task, so no "GLUE" in the name.
std::string task_metric_label(const EvalResult& r) {
  const std::string task = r.task == "sst2" ? "SST-2" : r.task == "mrpc" ? "MRPC" : r.task == "imdb" ? "IMDB" : r.task;
  return task + " " + r.score.headline;
}

std::string label_name(const EvalResult& r, int id) {
  auto it = r.id2label.find(id);
  return it == r.id2label.end() ? std::to_string(id) : it->second;
}

double padding_fraction(const EvalResult& r) {
  return r.batch_tokens > 0 ? static_cast<double>(r.batch_tokens - r.real_tokens) / static_cast<double>(r.batch_tokens) : 0.0;
}

}  // namespace

int64_t fp32_bytes(const EvalResult& r) { return r.parameters * static_cast<int64_t>(sizeof(float)); }

double compression_vs_fp32(const EvalResult& r) {
  return r.model_file_bytes > 0 ? static_cast<double>(fp32_bytes(r)) / static_cast<double>(r.model_file_bytes) : 0.0;
}

nlohmann::ordered_json eval_result_json(const EvalResult& r, const EvalRequest& q) {
  nlohmann::ordered_json j = run_header("eval", 1);
  j["request"] = {{"model_dir", q.model_dir}, {"task", q.task},           {"split", r.split},
                  {"data_dir", q.data_dir},   {"max_samples", q.max_samples}, {"seed", q.seed},
                  {"max_length", q.options.max_length}, {"batch_size", q.options.batch_size}};
  nlohmann::ordered_json labels = nlohmann::ordered_json::object();
  for (const auto& [id, name] : r.id2label) labels[std::to_string(id)] = name;
  j["model"] = {{"weights_file", r.model_source},
                {"architecture", r.architecture},
                {"id2label", labels},
                {"parameters", r.parameters},
                {"resident_bytes", r.resident_bytes},
                {"weights_file_bytes", r.model_file_bytes},
                {"fp32_bytes", fp32_bytes(r)},
                {"compression_vs_fp32", compression_vs_fp32(r)},
                {"linear_formats", r.linear_formats},
                {"word_embeddings", r.embeddings_format},
                {"attention", r.attention},
                {"average_bits", r.average_bits}};
  j["data"] = {{"path", r.data_path}, {"task", r.task}, {"split", r.split}, {"examples", r.examples},
               {"labeled", r.labeled}, {"truncated_examples", r.truncated_examples}};
  if (r.labeled) {
    const ClassificationMetrics& m = r.metrics;
    j["metrics"] = {{"accuracy", m.accuracy}, {"precision", m.precision}, {"recall", m.recall}, {"f1", m.f1},
                    {"macro_f1", m.macro_f1}, {"mcc", m.mcc}};
    nlohmann::ordered_json all = nlohmann::ordered_json::object();
    for (const auto& [name, value] : r.score.all) all[name] = value;
    j["task_metric"] = {{"name", r.score.headline}, {"value", r.score.value}, {"all", all}};
    nlohmann::ordered_json rows = nlohmann::ordered_json::array(), names = nlohmann::ordered_json::array();
    for (int g = 0; g < r.confusion.num_labels; ++g) {
      names.push_back(label_name(r, g));
      nlohmann::ordered_json row = nlohmann::ordered_json::array();
      for (int p = 0; p < r.confusion.num_labels; ++p) row.push_back(r.confusion.at(g, p));
      rows.push_back(row);
    }
    j["confusion_matrix"] = {{"rows", "gold"}, {"columns", "pred"}, {"labels", names}, {"counts", rows}};
  }
  j["tokens"] = {{"real", r.real_tokens}, {"with_padding", r.batch_tokens}, {"padding_fraction", padding_fraction(r)}};
  j["warnings"] = r.warnings;
  j["timing"] = {{"load_seconds", r.load_seconds},
                 {"tokenize_seconds", r.tokenize_seconds},
                 {"forward_seconds", r.forward_seconds},
                 {"wall_seconds", r.wall_seconds},
                 {"examples_per_second", r.examples_per_second},
                 {"threads", r.threads},
                 {"processes", r.processes}};
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
  std::string s = fmt::format("{} {} ({} examples) — {}\n", r.task, r.split, format_count(r.examples), r.model_source);
  if (r.labeled) {
    const ClassificationMetrics& m = r.metrics;
    s += fmt::format("  {:<22}{:>10}\n", "metric", "value");
    s += fmt::format("  {:<22}{:>10.4f}\n", "accuracy", m.accuracy);
    s += fmt::format("  {:<22}{:>10.4f}\n", "precision (label 1)", m.precision);
    s += fmt::format("  {:<22}{:>10.4f}\n", "recall (label 1)", m.recall);
    s += fmt::format("  {:<22}{:>10.4f}\n", "f1 (label 1)", m.f1);
    s += fmt::format("  {:<22}{:>10.4f}\n", "macro f1", m.macro_f1);
    s += fmt::format("  {:<22}{:>10.4f}\n", "mcc", m.mcc);
    s += fmt::format("  {:<22}{:>10.4f}\n", task_metric_label(r), r.score.value);
    size_t width = 8;
    for (int g = 0; g < r.confusion.num_labels; ++g) width = std::max(width, label_name(r, g).size() + 2);
    s += fmt::format("  confusion matrix (rows gold, columns predicted):\n  {:>{}}", "", width);
    for (int p = 0; p < r.confusion.num_labels; ++p) s += fmt::format("{:>{}}", label_name(r, p), width);
    s += "\n";
    for (int g = 0; g < r.confusion.num_labels; ++g) {
      s += fmt::format("  {:>{}}", label_name(r, g), width);
      for (int p = 0; p < r.confusion.num_labels; ++p) s += fmt::format("{:>{}}", format_count(r.confusion.at(g, p)), width);
      s += "\n";
    }
  } else {
    s += "  unlabeled split: predictions only\n";
  }
  if (r.truncated_examples > 0)
    s += fmt::format("  truncated {} of {} examples to max_length\n", format_count(r.truncated_examples),
                     format_count(r.examples));
  s += fmt::format("  parameters {}  ({} in memory, weights file {}: {:.2f}x smaller than fp32)\n",
                   format_count(r.parameters), format_bytes(r.resident_bytes), format_bytes(r.model_file_bytes),
                   compression_vs_fp32(r));
  std::string formats;
  for (const auto& [format, n] : r.linear_formats) formats += fmt::format("{}{} {}", formats.empty() ? "" : ", ", n, format);
  s += fmt::format("  Linears {}; word embeddings {}; {:.2f} stored bits per weight\n", formats, r.embeddings_format,
                   r.average_bits);
  s += fmt::format(
      "  wall {:.2f} s (load {:.2f} s, tokenize {:.2f} s, forward {:.2f} s), {:.1f} examples/s, {} thread{}{}, "
      "padding {:.1f}%\n",
      r.wall_seconds, r.load_seconds, r.tokenize_seconds, r.forward_seconds, r.examples_per_second, r.threads,
      r.threads == 1 ? "" : "s", r.processes > 1 ? fmt::format(" in each of {} processes", r.processes) : "",
      100.0 * padding_fraction(r));
  return s;
}

}  // namespace squish
