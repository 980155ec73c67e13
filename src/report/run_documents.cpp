#include "report/run_documents.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/file_util.h"
#include "io/json_error.h"

namespace squish {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSchemaPrefix = "squish.";

// The kind from the header, or "" for JSON that is not a squish run document (config.json, vocab files).
std::string schema_kind(const nlohmann::ordered_json& j) {
  if (!j.is_object() || !j.contains("schema") || !j["schema"].is_string()) return "";
  const std::string schema = j["schema"];
  return schema.rfind(kSchemaPrefix, 0) == 0 ? schema.substr(kSchemaPrefix.size()) : "";
}

nlohmann::ordered_json parse_json_file(const std::string& path) {
  try {
    return nlohmann::ordered_json::parse(read_file(path));
  } catch (const nlohmann::ordered_json::parse_error& e) {
    throw FormatError(fmt::format("{}: not valid JSON ({})", path, json_error_text(e)));
  }
}

std::string folder_name(const fs::path& p) {
  const fs::path clean = p.lexically_normal();
  const std::string name = (clean.has_filename() ? clean : clean.parent_path()).filename().string();
  return name.empty() ? p.string() : name;
}

}  // namespace

bool RunDocument::has(const std::string& pointer) const { return json.contains(nlohmann::ordered_json::json_pointer(pointer)); }

const nlohmann::ordered_json& RunDocument::at(const std::string& pointer) const {
  const nlohmann::ordered_json::json_pointer p(pointer);
  if (!json.contains(p)) throw FormatError(fmt::format("{}: no {} (a {} document)", path, pointer, kind));
  return json.at(p);
}

double RunDocument::number(const std::string& pointer) const {
  const nlohmann::ordered_json& v = at(pointer);
  if (!v.is_number()) throw FormatError(fmt::format("{}: {} is {}, expected a number", path, pointer, v.type_name()));
  return v.get<double>();
}

std::string RunDocument::text(const std::string& pointer) const {
  const nlohmann::ordered_json& v = at(pointer);
  if (!v.is_string()) throw FormatError(fmt::format("{}: {} is {}, expected a string", path, pointer, v.type_name()));
  return v.get<std::string>();
}

std::string RunDocument::display(const std::string& pointer) const {
  return has(pointer) ? display_value(json.at(nlohmann::ordered_json::json_pointer(pointer))) : "";
}

std::string display_value(const nlohmann::ordered_json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "yes" : "no";
  if (value.is_number_integer()) return std::to_string(value.get<int64_t>());
  if (value.is_number_unsigned()) return std::to_string(value.get<uint64_t>());
  if (value.is_number_float()) return fmt::format("{:.4g}", value.get<double>());
  if (value.is_null()) return "";
  // Index lists (calibration examples, hold-out sets) would drown a settings table.
  if (value.is_array() && value.size() > 16) return fmt::format("[{} values]", value.size());
  return value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::vector<RunDocument> read_run_documents(const std::vector<std::string>& paths) {
  std::vector<RunDocument> docs;
  // A document given twice (a folder and one of its files, another spelling of a path) counts once.
  std::set<fs::path> read;
  const auto first_time = [&](const fs::path& file) { return read.insert(fs::weakly_canonical(file)).second; };
  for (const std::string& given : paths) {
    const fs::path p(given);
    std::error_code ec;
    if (!fs::exists(p, ec)) throw IoError(fmt::format("{}: no such run folder or file", given));
    if (!fs::is_directory(p, ec)) {
      if (!first_time(p)) continue;
      nlohmann::ordered_json j = parse_json_file(given);
      const std::string kind = schema_kind(j);
      if (kind.empty())
        throw FormatError(fmt::format("{}: not a squish run document (expected \"schema\": \"squish.<kind>\")", given));
      docs.push_back({given, p.stem().string(), kind, std::move(j)});
      continue;
    }
    std::vector<fs::path> files;
    for (const fs::directory_entry& e : fs::directory_iterator(p))
      if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    size_t found = 0;
    for (const fs::path& f : files) {
      nlohmann::ordered_json j = parse_json_file(f.string());
      const std::string kind = schema_kind(j);
      if (kind.empty()) continue;
      ++found;
      if (first_time(f)) docs.push_back({f.string(), folder_name(p), kind, std::move(j)});
    }
    if (found == 0)
      throw FormatError(fmt::format("{}: no squish run JSON in this folder (expected a file such as results.json, "
                                    "training.json or pruning.json with a \"schema\": \"squish.<kind>\" header)",
                                    given));
  }
  return docs;
}

}  // namespace squish
