#include "io/datasets/jsonl.h"

#include "core/error.h"
#include "io/json_error.h"

namespace squish {

void for_each_jsonl_object(const std::string& path, const std::string& content,
                           const std::function<void(const nlohmann::json&, const std::string& where)>& take) {
  size_t start = 0;
  for (int64_t line_no = 1; start < content.size(); ++line_no) {
    size_t end = content.find('\n', start);
    if (end == std::string::npos) end = content.size();
    const std::string_view line(content.data() + start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw FormatError(where + ": malformed JSON: " + json_error_text(e));
    }
    if (!j.is_object()) throw FormatError(where + ": expected a JSON object");
    take(j, where);
  }
}

}  // namespace squish
