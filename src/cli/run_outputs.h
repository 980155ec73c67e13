// What every command that writes a run folder adds to it, declared once: --output FILE (a copy of
// the run's JSON document; '-' = stdout, which then carries only the JSON) and --report (the page
// `squish report` would make from the folder, written into it as report.html). eval, which writes no
// folder, has --report beside its --output FILE.json. Not the page itself: report/html_report.h.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "core/output_file.h"

namespace squish::cli {

CLI::Option* add_report_flag(CLI::App& cmd, bool& report);

struct RunOutputs {
  std::string output;  // --output; empty: none
  bool report = false;
  std::optional<OutputPath> checked;  // --output, checked before the work
};

// --output and --report.
void add_run_output_flags(CLI::App& cmd, RunOutputs& outputs, const std::string& document);
// Before the work: a typo in --output's directory must not cost the run.
void check_run_outputs(RunOutputs& outputs);
// Whether the command's own summary goes to stdout (not when --output is '-').
bool summary_on_stdout(const RunOutputs& outputs);
// After the run: `folder/document` copied to --output, the page written to folder/report.html.
void write_run_outputs(const RunOutputs& outputs, const std::string& folder, const std::string& document);

// The page of `run` (a run folder or one JSON file) written atomically to `page`; says where on stdout.
void write_run_report(const std::string& run, const std::string& page);

// eval --output FILE.json --report: FILE.html beside it. UsageError without a file to sit beside.
std::string report_path_beside(const std::string& json_output);

}  // namespace squish::cli
