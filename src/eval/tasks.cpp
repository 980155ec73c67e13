#include "eval/tasks.h"

#include <array>

namespace squish {

std::span<const TaskSpec> task_registry() {
  static constexpr std::array<TaskSpec, 4> kTasks = {{
      {"sst2", TaskKind::kClassification, "dev", "GLUE SST-2 sentiment (accuracy)"},
      {"mrpc", TaskKind::kClassification, "dev", "GLUE MRPC paraphrase pairs (F1)"},
      {"imdb", TaskKind::kClassification, "test", "IMDB reviews (accuracy; no dev split)"},
      {"hellaswag", TaskKind::kMultipleChoice, "dev", "HellaSwag validation, zero-shot (acc, acc_norm)"},
  }};
  return kTasks;
}

const TaskSpec* find_task(std::string_view name) {
  for (const TaskSpec& t : task_registry())
    if (t.name == name) return &t;
  return nullptr;
}

std::vector<std::string> task_names(std::optional<TaskKind> kind) {
  std::vector<std::string> names;
  for (const TaskSpec& t : task_registry())
    if (!kind || t.kind == *kind) names.emplace_back(t.name);
  return names;
}

}  // namespace squish
