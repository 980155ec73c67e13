// The tasks squish scores, in one table that the CLI's --task flags and the pipelines read: the
// model a task scores, how it is scored, and the split it is scored on unless told otherwise.
// Perplexity is a command of its own (any text file), not a task.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace squish {

enum class TaskKind {
  kClassification,  // a sequence classifier on labelled examples: accuracy, F1, the GLUE metric
  kMultipleChoice,  // a causal LM choosing an ending by log-likelihood: acc and acc_norm (lm-eval-harness)
};

struct TaskSpec {
  std::string_view name;  // the --task word
  TaskKind kind;
  std::string_view default_split;  // scored unless --split says otherwise
  std::string_view about;          // for --help and errors
};

std::span<const TaskSpec> task_registry();
// nullptr for a name no task has.
const TaskSpec* find_task(std::string_view name);
// The names of every task, or of one kind's, in registry order.
std::vector<std::string> task_names(std::optional<TaskKind> kind = std::nullopt);

}  // namespace squish
