// squish report: one self-contained HTML page (charts included, no network needed) from run folders.
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "core/checked_stdout.h"
#include "core/error.h"
#include "core/output_file.h"
#include "report/html_report.h"

namespace squish::cli {

void add_report_command(CLI::App& app) {
  struct Options {
    std::vector<std::string> runs;
    std::string output = "report.html", title = "squish report";
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("report", "One self-contained HTML page with charts from run folders");
  cmd->add_option("runs", o->runs, "Run folders (or their JSON files) written by earlier squish commands");
  cmd->add_option("--output", o->output, "The page to write ('-' for stdout); replaced atomically")->capture_default_str();
  cmd->add_option("--title", o->title, "The page's title")->capture_default_str();
  cmd->callback([o] {
    if (o->runs.empty())
      throw UsageError(
          "report: give the run folders (or their JSON files) to draw: squish report RUN... --output page.html");
    const OutputPath output = check_output_path(o->output, "--output");  // before reading anything
    refuse_output_over_inputs(output, o->runs);
    const std::vector<RunDocument> docs = read_run_documents(o->runs);
    const HtmlReport report = html_report(docs, o->title);
    write_output(output, report.html);
    if (output.kind != OutputKind::kStdout)
      write_stdout(fmt::format("wrote {} ({} run documents, {} charts)\n", o->output, docs.size(), report.charts));
  });
}

}  // namespace squish::cli
