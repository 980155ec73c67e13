// nlohmann::json's parse errors in squish's words: "line 3, column 7: syntax error while parsing
// object key - invalid literal; last read: '{x'", without the library's "[json.exception.parse_error.101]
// parse error at " prefix, which means nothing to a user.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace squish {

std::string json_error_text(const nlohmann::json::exception& error);

}  // namespace squish
