// squish inspect: what a model directory holds.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "eval/inspect.h"

namespace squish::cli {

void add_inspect_command(CLI::App& app) {
  struct Options {
    std::string model_dir;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("inspect", "Architecture, parameter counts by group, dtypes and size of a model");
  cmd->add_option("--model_dir", o->model_dir, "HF model directory")->required();
  cmd->add_flag("--json", o->json, "Print JSON instead of text");
  cmd->callback([o] {
    const ModelSummary s = inspect_model(o->model_dir);
    std::fputs(o->json ? (model_summary_json(s).dump(2) + "\n").c_str() : model_summary_text(s).c_str(), stdout);
  });
}

}  // namespace squish::cli
