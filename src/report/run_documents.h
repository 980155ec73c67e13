// The JSON documents of run folders, as the report reads them: every file whose header says
// "schema": "squish.<kind>" (eval/run_header.h), with typed look-ups whose errors name the file and
// the field. Not the page: html_report.h turns these into one.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace squish {

struct RunDocument {
  std::string path;   // the JSON file
  std::string run;    // the run folder's name, e.g. "mrpc-oneshot" (the file's stem for a file given alone)
  std::string kind;   // "training" for "squish.training"
  nlohmann::ordered_json json;  // in the writer's key order, so settings read as written

  bool has(const std::string& pointer) const;  // RFC 6901, e.g. "/fp32/metric/value"
  const nlohmann::ordered_json& at(const std::string& pointer) const;  // FormatError "<path>: no <pointer>" if absent
  double number(const std::string& pointer) const;             // FormatError unless a number
  std::string text(const std::string& pointer) const;          // FormatError unless a string
  // For tables: a string as is, a number compactly, anything else as JSON; "" when absent.
  std::string display(const std::string& pointer) const;
};

// Reads each path: a folder gives every squish JSON directly inside it (sorted by file name; model
// subfolders are not searched, their run's JSON already summarises them), a .json file gives itself.
// Throws IoError for a path that does not exist, FormatError for a file that is not JSON, a file
// without a squish schema, or a folder with no squish JSON in it.
std::vector<RunDocument> read_run_documents(const std::vector<std::string>& paths);

// A JSON scalar for a table cell: strings as is, integers exactly, other numbers to 4 significant
// digits, booleans as yes/no, arrays (up to 16 entries; longer ones as "[N values]") and
// objects as compact JSON.
std::string display_value(const nlohmann::ordered_json& value);

}  // namespace squish
