// JSON Lines as squish's item readers take them (HellaSwag, text corpora): one JSON object per
// non-blank line, errors naming "<path>:<line>".
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace squish {

// Calls `take(object, where)` for each non-blank line of `content` (the text of `path`), `where`
// being "<path>:<line>"; FormatError there for malformed JSON or a value that is not an object.
void for_each_jsonl_object(const std::string& path, const std::string& content,
                           const std::function<void(const nlohmann::json&, const std::string& where)>& take);

}  // namespace squish
