// --report on the commands that write a run folder (and on eval --output): after the run, the page
// `squish report` would make from it, written beside the JSON. Not the page itself: report/html_report.h.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace squish::cli {

CLI::Option* add_report_flag(CLI::App& cmd, bool& report);

// The page of `run` (a run folder or one JSON file) written atomically to `page`; says where on stdout.
void write_run_report(const std::string& run, const std::string& page);

// eval --output FILE.json --report: FILE.html beside it. UsageError without a file to sit beside.
std::string report_path_beside(const std::string& json_output);

}  // namespace squish::cli
