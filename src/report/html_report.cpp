#include "report/html_report.h"

#include <fmt/format.h>

#include "core/version.h"
#include "report/html_page.h"
#include "report/run_sections.h"

namespace squish {
HtmlReport html_report(const std::vector<RunDocument>& docs, const std::string& title) {
  HtmlPage page;
  add_overview_section(page, docs);
  for (size_t i = 0; i < docs.size(); ++i) add_run_section(page, docs[i], fmt::format("run-{}", i + 1));
  return {page.render(title, fmt::format("Written by squish {} from {} run document(s).", kVersion, docs.size())),
          page.chart_count()};
}

}  // namespace squish
