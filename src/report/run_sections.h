// What the report page shows for each kind of run document: one function per family, each adding a
// section (settings, results tables, charts) to the page. Shared by html_report.cpp; the families
// live in run_sections_*.cpp. Not the page mechanics (html_page.h) nor the chart configs (chart_spec.h).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "report/html_page.h"
#include "report/run_documents.h"

namespace squish {

// Summary: every document's header (schema, squish version, when, host) and the accuracy-size
// trade-off of every model the runs measured, per task, with the Pareto front marked.
void add_overview_section(HtmlPage& page, const std::vector<RunDocument>& docs);

// One section for `doc`, chosen by its kind; a kind this page does not know gets its header and
// top-level settings only, so a newer run folder still gives a page.
void add_run_section(HtmlPage& page, const RunDocument& doc, const std::string& anchor);

// The families (run_sections_quantization.cpp, run_sections_training.cpp, run_sections_compare.cpp).
void add_eval_section(HtmlPage& page, const RunDocument& doc);
void add_quantization_section(HtmlPage& page, const RunDocument& doc);
void add_ptq_section(HtmlPage& page, const RunDocument& doc);  // ptq_compare and calib_ablation
void add_mixed_precision_section(HtmlPage& page, const RunDocument& doc);
void add_sensitivity_section(HtmlPage& page, const RunDocument& doc);
void add_bit_plan_section(HtmlPage& page, const RunDocument& doc);
void add_training_section(HtmlPage& page, const RunDocument& doc);
void add_pruning_section(HtmlPage& page, const RunDocument& doc);
void add_compare_section(HtmlPage& page, const RunDocument& doc);

// Shared by the families: the header's settings (versions, host), then every scalar under `object`
// flattened to "a.b.c" rows.
void add_settings(HtmlPage& page, const RunDocument& doc, const std::vector<std::string>& objects);
std::vector<std::pair<std::string, std::string>> flattened_settings(const nlohmann::ordered_json& object,
                                                                    const std::string& prefix);
std::string metric_text(double value);         // 0.8123
std::string megabytes_text(double bytes);      // 17.55 MB (10^6 bytes)
std::string short_unit_name(const std::string& name);  // "encoder.layer.3.attention.self.qkv" -> "L3 attn.qkv"

}  // namespace squish
