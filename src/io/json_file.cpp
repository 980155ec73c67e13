#include "io/json_file.h"

#include "core/error.h"
#include "core/file_util.h"
#include "io/json_error.h"

namespace squish {

nlohmann::json read_json_object(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::parse_error& e) {
    throw FormatError(path + ": malformed JSON: " + json_error_text(e));
  }
  if (!j.is_object()) throw FormatError(path + ": expected a JSON object at top level");
  return j;
}

}  // namespace squish
