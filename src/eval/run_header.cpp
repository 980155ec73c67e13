#include "eval/run_header.h"

#include <chrono>
#include <string>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "core/communicator.h"
#include "core/threads.h"
#include "core/version.h"
#include "kernels/cpu_features.h"

namespace squish {
namespace {

nlohmann::ordered_json collectives_json() {
  const CollectiveStats s = world().stats();
  return {{"calls", s.calls}, {"bytes", s.bytes}, {"seconds", s.seconds}};
}

}  // namespace

nlohmann::ordered_json run_header(std::string_view kind, int schema_version) {
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  nlohmann::ordered_json j;
  j["schema"] = "squish." + std::string(kind);
  j["schema_version"] = schema_version;
  j["squish_version"] = std::string(kVersion);
  j["created_utc"] = fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", now);
  j["host"] = {{"cpu", cpu_model_name()},           {"isa", std::string(isa_name(active_isa()))},
               {"threads", num_threads()},          {"processes", world().size()},
               {"collectives", collectives_json()}, {"thread_wait_policy", thread_wait_policy()}};
  return j;
}

}  // namespace squish
