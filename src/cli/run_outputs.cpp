#include "cli/run_outputs.h"

#include <filesystem>

#include <fmt/format.h>

#include "cli/options.h"
#include "core/checked_stdout.h"
#include "core/error.h"
#include "core/file_util.h"
#include "core/output_file.h"
#include "report/html_report.h"

namespace squish::cli {

CLI::Option* add_report_flag(CLI::App& cmd, bool& report) {
  return cmd.add_flag("--report", report, "Also write the run's HTML page (squish report) as report.html beside its JSON");
}

void add_run_output_flags(CLI::App& cmd, RunOutputs& outputs, const std::string& document) {
  add_output_option(cmd, "--output", outputs.output, "Also write " + document + " here");
  add_report_flag(cmd, outputs.report);
}

void check_run_outputs(RunOutputs& outputs) {
  if (!outputs.output.empty()) outputs.checked = check_output_path(outputs.output, "--output");
}

bool summary_on_stdout(const RunOutputs& outputs) {
  return !(outputs.checked && outputs.checked->kind == OutputKind::kStdout);
}

void write_run_outputs(const RunOutputs& outputs, const std::string& folder, const std::string& document) {
  if (outputs.checked) write_output(*outputs.checked, read_file(folder + "/" + document));
  if (outputs.report) write_run_report(folder, folder + "/report.html");
}

void write_run_report(const std::string& run, const std::string& page) {
  const OutputPath output = check_output_path(page, "--report");
  const HtmlReport report = html_report(read_run_documents({run}), "squish report: " + run);
  write_output(output, report.html);
  write_stdout(fmt::format("wrote {} ({} charts)\n", page, report.charts));
}

std::string report_path_beside(const std::string& json_output) {
  if (json_output.empty() || json_output == "-")
    throw UsageError("--report needs --output FILE.json: the page is written beside it as FILE.html");
  return std::filesystem::path(json_output).replace_extension(".html").string();
}

}  // namespace squish::cli
