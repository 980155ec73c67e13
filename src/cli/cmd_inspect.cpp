// squish inspect: what a model directory holds.
#include <memory>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/checked_stdout.h"
#include "core/output_file.h"
#include "eval/inspect.h"

namespace squish::cli {

void add_inspect_command(CLI::App& app) {
  struct Options {
    std::string model_dir;
    bool json = false;
    std::string output;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("inspect", "Architecture, parameter counts by group, dtypes, sizes and Linears of a model");
  add_model_dir_option(*cmd, o->model_dir, "HF model directory (weights optional: sizes then come from config.json)");
  cmd->add_flag("--json", o->json, "Print JSON on stdout instead of text");
  add_output_option(*cmd, "--output", o->output, "Also write the JSON here");
  cmd->callback(command(nullptr, [o] {
    std::optional<OutputPath> output;
    if (!o->output.empty()) output = check_output_path(o->output, "--output");
    const ModelSummary s = inspect_model(o->model_dir);
    const std::string json = model_summary_json(s).dump(2) + "\n";
    write_stdout(o->json ? json : model_summary_text(s));
    if (output) write_output(*output, json);
  }));
}

}  // namespace squish::cli
