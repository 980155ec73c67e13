// squish glue-score: SST-2 dev accuracy and MRPC dev F1 of every model, paired by the method that
// made it, and their mean as the GLUE score; from models, run folders or saved eval JSON.
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/checked_stdout.h"
#include "core/error.h"
#include "core/output_file.h"
#include "eval/glue_score.h"

namespace squish::cli {
namespace {

struct GlueScoreCommandOptions {
  GlueScoreRequest request;
  std::vector<std::string> models, runs, results;
  std::string output;
  int threads = 0;
};

void run_glue_score_command(GlueScoreCommandOptions& o) {
  // Before the work: a typo in the output's directory must not cost the evaluations.
  const std::optional<OutputPath> output =
      o.output.empty() ? std::nullopt : std::optional<OutputPath>(check_output_path(o.output, "--output"));
  const auto& given = !o.models.empty() ? o.models : !o.runs.empty() ? o.runs : o.results;
  o.request.source = !o.models.empty() ? GlueSource::kModels : !o.runs.empty() ? GlueSource::kRuns : GlueSource::kResults;
  std::vector<std::string> inputs;
  for (const auto& text : given) {
    o.request.entries.push_back(parse_glue_entry(text));
    inputs.push_back(o.request.entries.back().path);
  }
  if (output) refuse_output_over_inputs(*output, inputs);
  const GlueScoreResult r = run_glue_score(o.request);
  print_warnings(r.warnings);
  if (!(output && output->kind == OutputKind::kStdout)) write_stdout(glue_score_table(r));
  if (output) write_output(*output, glue_score_json(r).dump(2) + "\n");
}

}  // namespace

void add_glue_score_command(CLI::App& app) {
  auto o = std::make_shared<GlueScoreCommandOptions>();
  CLI::App* cmd = app.add_subcommand("glue-score", "GLUE score (SST-2 accuracy, MRPC F1, their mean) per compression method");
  auto* models = cmd->add_option("--models", o->models, "Model directories, [METHOD=]DIR (method from the run JSON, else fp32)");
  auto* runs = cmd->add_option("--runs", o->runs, "Run folders of quantize, mixed-precision, prune or train, [METHOD=]DIR");
  auto* results = cmd->add_option("--from_results", o->results, "Saved squish eval --output JSON, [METHOD=]FILE (no evaluation)");
  models->excludes(runs)->excludes(results);
  runs->excludes(results);
  cmd->add_option("--data_dir", o->request.data_dir, "Folder holding glue/")->capture_default_str();
  add_max_length_option(*cmd, o->request.options.max_length);
  add_batch_size_option(*cmd, o->request.options.batch_size);
  add_threads_option(*cmd, o->threads);
  add_output_option(*cmd, "--output", o->output, "Write the results as JSON here");
  cmd->callback(command(&o->threads, [o] {
    if (o->models.empty() && o->runs.empty() && o->results.empty())
      throw UsageError("glue-score: expected one of --models, --runs or --from_results");
    run_glue_score_command(*o);
  }));
}

}  // namespace squish::cli
