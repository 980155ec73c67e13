// The header every JSON document squish writes starts with, so a report can read any run folder:
// which schema and version of it, which squish, when, and on what machine and ISA.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace squish {

// {"schema": "squish.<kind>", "schema_version": N, "squish_version", "created_utc",
//  "host": {"cpu", "isa", "threads", "thread_wait_policy"}} (timings depend on how threads wait)
nlohmann::ordered_json run_header(std::string_view kind, int schema_version);

}  // namespace squish
