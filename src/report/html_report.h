// squish report: one self-contained HTML page from the JSON of earlier runs (any mix of eval,
// quantize, ptq-compare, calib-ablation, sensitivity, allocate, mixed-precision, train, prune and
// compare run folders): settings and versions, results tables and Chart.js charts, with Chart.js
// and the data inline so the page opens offline as one file and prints. docs/report.md describes
// the page. Not the run JSON itself: each command's report writer owns its schema.
#pragma once

#include <string>
#include <vector>

#include "report/run_documents.h"

namespace squish {

struct HtmlReport {
  std::string html;
  size_t charts;  // how many charts the page draws (what a headless check expects to find)
};

// The page for `docs`, in the order given (a summary with the accuracy-size trade-off first).
// `title` heads the page. Throws FormatError naming the file and field when a document lacks
// what its schema promises.
HtmlReport html_report(const std::vector<RunDocument>& docs, const std::string& title);

}  // namespace squish
