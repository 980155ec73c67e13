#include "io/datasets/hellaswag.h"

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_util.h"
#include "io/datasets/jsonl.h"

namespace squish {
namespace {

std::string_view strip(std::string_view s) {
  while (!s.empty() && is_python_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_python_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  size_t at = 0;
  for (size_t hit; (hit = s.find(from, at)) != std::string_view::npos; at = hit + from.size()) {
    out.append(s.substr(at, hit - at));
    out.append(to);
  }
  out.append(s.substr(at));
  return out;
}

// re.sub(r"\[.*?\]", "", s): a '[' starts a tag only if a ']' follows before the next newline.
std::string drop_bracket_tags(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '[') {
      const size_t close = s.find_first_of("]\n", i + 1);
      if (close != std::string_view::npos && s[close] == ']') {
        i = close;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

void append_utf8(std::string& out, UChar32 c) {
  uint8_t buf[U8_MAX_LENGTH];
  int32_t n = 0;
  U8_APPEND_UNSAFE(buf, n, c);  // c came from U8_NEXT and its case mappings: a valid code point
  out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

std::string string_field(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j[key].is_string()) throw FormatError(where + ": expected a string \"" + key + "\"");
  return j[key].get<std::string>();
}

std::vector<std::string> string_list(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j[key].is_array() || j[key].empty())
    throw FormatError(where + ": expected a non-empty list of strings \"" + key + "\"");
  std::vector<std::string> out;
  for (const auto& v : j[key]) {
    if (!v.is_string()) throw FormatError(where + ": \"" + key + "\" must hold strings only");
    out.push_back(v.get<std::string>());
  }
  return out;
}

// HF stores label as a string ("2"), the original and the harness as an integer; "" in test splits.
int label_of(const nlohmann::json& j, const char* key, size_t choices, const std::string& where) {
  if (!j.contains(key) || j[key].is_null() || (j[key].is_string() && j[key].get<std::string>().empty())) return -1;
  int64_t label = -1;
  if (j[key].is_number_integer()) {
    label = j[key].get<int64_t>();
  } else if (j[key].is_string()) {
    const std::string s = j[key].get<std::string>();
    if (s.find_first_not_of("0123456789") != std::string::npos || s.size() > 9)
      throw FormatError(where + ": \"" + key + "\": expected an ending's index, found \"" + s + "\"");
    label = std::stoll(s);
  } else {
    throw FormatError(where + ": \"" + key + "\": expected an ending's index");
  }
  if (label < 0 || label >= static_cast<int64_t>(choices))
    throw FormatError(where + ": \"" + key + "\" " + std::to_string(label) + " is not one of the " +
                      std::to_string(choices) + " endings");
  return static_cast<int>(label);
}

std::optional<int64_t> index_of(const nlohmann::json& j, const char* key) {
  if (j.contains(key) && j[key].is_number_integer()) return j[key].get<int64_t>();
  return std::nullopt;
}

}  // namespace

bool is_python_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f'); }

std::string hellaswag_preprocess(std::string_view text) {
  const std::string titled = replace_all(strip(text), " [title]", ". ");
  return replace_all(drop_bracket_tags(titled), "  ", " ");
}

std::string python_capitalize(std::string_view text) {
  std::string out;
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const int32_t n = static_cast<int32_t>(text.size());
  for (int32_t i = 0; i < n;) {
    const int32_t start = i;
    UChar32 c;
    U8_NEXT(s, i, n, c);
    if (c < 0) {  // not UTF-8: the bytes are kept as they are
      out.append(text.substr(static_cast<size_t>(start), static_cast<size_t>(i - start)));
      continue;
    }
    append_utf8(out, start == 0 ? u_totitle(c) : u_tolower(c));
  }
  return out;
}

std::vector<MultipleChoiceItem> read_hellaswag(const std::string& path) {
  std::vector<MultipleChoiceItem> items;
  for_each_jsonl_object(path, read_maybe_gzip(path), [&](const nlohmann::json& j, const std::string& where) {
    MultipleChoiceItem item;
    if (j.contains("query")) {
      item.query = string_field(j, "query", where);
      item.choices = string_list(j, "choices", where);
      item.gold = label_of(j, "gold", item.choices.size(), where);
      item.ind = index_of(j, "idx");
    } else if (j.contains("ctx_a")) {
      const std::string ctx =
          string_field(j, "ctx_a", where) + " " + python_capitalize(string_field(j, "ctx_b", where));
      item.query = hellaswag_preprocess(string_field(j, "activity_label", where) + ": " + ctx);
      for (const std::string& ending : string_list(j, "endings", where))
        item.choices.push_back(hellaswag_preprocess(ending));
      item.gold = label_of(j, "label", item.choices.size(), where);
      item.ind = index_of(j, "ind");
    } else {
      throw FormatError(where +
                        ": expected a HellaSwag item: the original fields (activity_label, ctx_a, ctx_b, "
                        "endings, label) or the harness's (query, choices, gold)");
    }
    items.push_back(std::move(item));
  });
  if (items.empty()) throw FormatError(path + ": no HellaSwag items");
  return items;
}

std::string default_hellaswag_file(const std::string& data_dir) {
  return data_dir + "/hellaswag/hellaswag_val_lmeval.jsonl.gz";
}

}  // namespace squish
