// HellaSwag items as EleutherAI's lm-evaluation-harness 0.4 builds its requests: a query (the
// context) and four preprocessed endings. Two file forms are read, told by their fields, line by
// line (JSONL, transparently gunzipped):
//  - the original (rowanz/hellaswag, HF Rowan/hellaswag): ind, activity_label, ctx_a, ctx_b,
//    endings, label; preprocessed here exactly as the harness does;
//  - the harness's own processed form ({query, choices, gold}, optional idx), as in
//    ../shared/data/hellaswag/hellaswag_val_lmeval.jsonl.gz, taken as it is.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace squish {

struct MultipleChoiceItem {
  std::optional<int64_t> ind;        // the original's `ind` (or the processed form's `idx`) when the file has it
  std::string query;                 // the context the endings continue
  std::vector<std::string> choices;  // preprocessed endings, without the leading space
  int gold = -1;                     // index into choices; -1 when the file has no label (test split)
};

// Python's str.strip()/rstrip() whitespace among ASCII bytes: the harness strips texts with them.
bool is_python_space(char c);

// The harness's preprocess(): strip, " [title]" -> ". ", drop "[...]" tags (non-greedy, within a
// line), then every "  " -> " " once, left to right (Python's str.replace).
std::string hellaswag_preprocess(std::string_view text);
// Python's str.capitalize(): the first character title-cased, the rest lower-cased (Unicode-aware).
std::string python_capitalize(std::string_view text);

// Every item of `path`; FormatError "<path>:<line>: ..." for a malformed line or a line of neither
// form, IoError when the file cannot be read.
std::vector<MultipleChoiceItem> read_hellaswag(const std::string& path);

// The file `squish eval --task hellaswag` reads without --data_file: every validation item in the
// harness's form, under data_dir (../shared/data).
std::string default_hellaswag_file(const std::string& data_dir);

}  // namespace squish
