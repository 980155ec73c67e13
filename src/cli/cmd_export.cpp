// squish export: a model directory written back as HF-compatible safetensors (F32 or F16).
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "core/human_format.h"
#include "core/threads.h"
#include "eval/export.h"

namespace squish::cli {

void add_export_command(CLI::App& app) {
  struct Options {
    ExportRequest request;
    int threads = 0;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("export", "Write a model as a HF directory (model.safetensors) that transformers loads");
  cmd->add_option("--model_dir", o->request.model_dir, "Model directory squish reads")->required();
  cmd->add_option("--output_dir", o->request.output_dir, "New directory to write (must not exist, or be empty)")->required();
  cmd->add_option("--dtype", o->request.dtype, "f32 | f16")->capture_default_str();
  add_threads_option(*cmd, o->threads);
  cmd->callback([o] {
    set_num_threads(o->threads);
    const int64_t bytes = export_model(o->request);
    std::fputs(fmt::format("wrote {} ({} model.safetensors, {})\n", o->request.output_dir, format_bytes(bytes),
                           o->request.dtype).c_str(), stdout);
  });
}

}  // namespace squish::cli
