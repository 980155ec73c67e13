// A CompareResult for machines (compare.json, schema squish.compare version 1, every field in
// docs/run_folder.md) and for people (a table on stdout). Layout only: the statistics are computed
// in eval/error_analysis.cpp.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "eval/compare_pipeline.h"

namespace squish {

nlohmann::ordered_json compare_json(const CompareResult& r);
std::string compare_table(const CompareResult& r);

}  // namespace squish
