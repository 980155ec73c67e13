#include "io/json_error.h"

#include <string_view>

namespace squish {

std::string json_error_text(const nlohmann::json::exception& error) {
  std::string_view text = error.what();
  if (const size_t tag = text.find("] "); text.starts_with("[json.exception.") && tag != std::string_view::npos)
    text.remove_prefix(tag + 2);
  constexpr std::string_view kParseErrorAt = "parse error at ";
  if (text.starts_with(kParseErrorAt)) text.remove_prefix(kParseErrorAt.size());
  constexpr std::string_view kParseError = "parse error: ";
  if (text.starts_with(kParseError)) text.remove_prefix(kParseError.size());
  return std::string(text);
}

}  // namespace squish
