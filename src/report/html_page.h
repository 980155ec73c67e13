// The report page as it is built: sections of headings, tables and Chart.js charts, rendered into
// one self-contained HTML document (styles, Chart.js and the chart data inline). Every string that
// reaches the page goes through html_escape() here, so callers pass raw text from run JSON.
// Not what a run contains: the run_sections_* files decide that.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace squish {

// Text for HTML element content and quoted attribute values: & < > " ' become entities.
std::string html_escape(std::string_view text);

// JSON for inside a <script> element: "<", ">" and "&" as \u escapes, so no string from a run can
// close the element or open a comment.
std::string script_safe_json(const nlohmann::json& value);

class HtmlPage {
 public:
  using Row = std::vector<std::string>;

  // Sections become the page's table of contents; `id` is an anchor (escaped like any text).
  void begin_section(const std::string& id, const std::string& title, const std::string& subtitle);
  void heading(const std::string& text);  // a sub-heading inside the current section
  void paragraph(const std::string& text);
  // A table; with `numeric_columns`, cells that are numbers (with units: MB, s, %, ×) are right-aligned.
  void table(const Row& header, const std::vector<Row>& rows, bool numeric_columns = true);
  // A two-column table of settings (name, value).
  void settings(const std::vector<std::pair<std::string, std::string>>& items);
  // A Chart.js chart: `config` is the {type, data, options} object Chart.js 3 takes.
  void chart(const std::string& caption, nlohmann::json config);
  // A matrix of counts shaded by value (agreement, confusion); row and column labels name the axes.
  void count_matrix(const std::string& row_axis, const std::string& column_axis, const std::vector<std::string>& labels,
                    const std::vector<std::vector<long long>>& counts);

  size_t chart_count() const { return charts_.size(); }
  std::string render(const std::string& title, const std::string& generated_by) const;

 private:
  struct Section {
    std::string id, title, subtitle, body;
    bool grid_open;  // the body ends inside a <div class="charts">
  };
  Section& current();
  std::string& text_body();  // the current body, after closing an open chart grid
  std::vector<Section> sections_;
  std::vector<nlohmann::json> charts_;
};

}  // namespace squish
