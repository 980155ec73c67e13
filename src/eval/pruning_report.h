// pruning.json, the record of a `squish prune` run (schema "squish.pruning", version 1), and the
// table the CLI prints: every stage's dev metric, sparsity and time, the per-Linear sparsity of the
// final mask, sizes on disk, and for structured pruning the per-layer sizes and the speed of the
// smaller model against the dense one. docs/pruning.md documents it.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "eval/prune_pipeline.h"

namespace squish {

nlohmann::ordered_json pruning_json(const PruneRunResult& r);
std::string pruning_table(const PruneRunResult& r);

}  // namespace squish
