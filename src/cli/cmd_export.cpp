// squish export: a model directory written back as HF-compatible safetensors (F32 or F16).
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/checked_stdout.h"
#include "core/human_format.h"
#include "eval/export.h"

namespace squish::cli {

void add_export_command(CLI::App& app) {
  struct Options {
    ExportRequest request;
    int threads = 0;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("export", "Write a model as a HF directory (model.safetensors) that transformers loads");
  add_model_dir_option(*cmd, o->request.model_dir, "Model directory squish reads");
  add_output_dir_option(*cmd, o->request.output_dir, "New directory to write (must not exist, or be empty)");
  cmd->add_option("--dtype,--save_dtype", o->request.dtype, "f32 | f16")
      ->capture_default_str()
      ->check(one_of({"f32", "f16"}));
  add_threads_option(*cmd, o->threads);
  cmd->callback(command(&o->threads, [o] {
    const int64_t bytes = export_model(o->request);
    write_stdout(fmt::format("wrote {} (model.safetensors {}, {})\n", o->request.output_dir, format_bytes(bytes),
                             o->request.dtype));
  }));
}

}  // namespace squish::cli
