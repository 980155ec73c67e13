// A JSON object read from a file (config.json, tokenizer.json, ...), with the errors every reader
// gives: IoError when the file cannot be read, FormatError naming it when it is not a JSON object.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace squish {

nlohmann::json read_json_object(const std::string& path);

}  // namespace squish
