#include "io/datasets/dataset.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <numeric>
#include <random>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/printable.h"
#include "core/file_util.h"
#include "io/json_error.h"

namespace squish {

namespace {

// One row per file squish reads; rows and label counts copied from shared/data/README.md (the tables
// under "glue/sst2", "glue/mrpc" and "imdb"). A mismatch means a truncated, swapped or re-generated file,
// and scores computed on it would not be comparable with published ones, so loading stops.
struct ExpectedFile {
  Task task;
  Split split;
  const char* rel_path;
  int64_t rows;
  int64_t label0;  // -1: unlabeled split
  int64_t label1;
};
constexpr std::array<ExpectedFile, 8> kExpectedFiles{{
    {Task::kSst2, Split::kTrain, "glue/sst2/train.tsv.gz", 67349, 29780, 37569},
    {Task::kSst2, Split::kDev, "glue/sst2/dev.tsv", 872, 428, 444},
    {Task::kSst2, Split::kTest, "glue/sst2/test.tsv", 1821, -1, -1},
    {Task::kMrpc, Split::kTrain, "glue/mrpc/train.tsv", 3668, 1194, 2474},
    {Task::kMrpc, Split::kDev, "glue/mrpc/dev.tsv", 408, 129, 279},
    {Task::kMrpc, Split::kTest, "glue/mrpc/test.tsv", 1725, -1, -1},
    {Task::kImdb, Split::kTrain, "imdb/train.jsonl.gz", 25000, 12500, 12500},
    // IMDB has no dev split: the corpus ships train and test only.
    {Task::kImdb, Split::kTest, "imdb/test.jsonl.gz", 25000, 12500, 12500},
}};

const ExpectedFile& expected_file(Task task, Split split) {
  for (const ExpectedFile& f : kExpectedFiles) {
    if (f.task == task && f.split == split) return f;
  }
  if (task == Task::kImdb && split == Split::kDev) {
    // A usage error rather than silently substituting test: a "dev" score that is really a test score
    // would be misreported.
    throw UsageError(
        "imdb has no dev split (the IMDB corpus ships only train and test, 25,000 reviews each); "
        "use --split test to evaluate on IMDB");
  }
  throw UsageError("no " + std::string(split_name(split)) + " split for " + std::string(task_name(task)));
}

std::string join_path(const std::string& dir, const std::string& rel) {
  if (dir.empty()) return rel;
  if (dir.back() == '/') return dir + rel;
  return dir + "/" + rel;
}

// Lines of a whole file without their '\n' and one trailing '\r' each (CRLF files are tolerated).
// Trailing newlines at the end of the file do not make empty rows; an empty line elsewhere is a row.
std::vector<std::string_view> split_lines(std::string_view content) {
  while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) content.remove_suffix(1);
  std::vector<std::string_view> lines;
  if (content.empty()) return lines;
  size_t start = 0;
  while (true) {
    const size_t nl = content.find('\n', start);
    std::string_view line = content.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return lines;
}

// GLUE's TSVs are written with QUOTE_NONE: a '"' is an ordinary byte (MRPC has unbalanced ones), so the
// only separator is the tab.
void split_tabs(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  size_t start = 0;
  while (true) {
    const size_t tab = line.find('\t', start);
    if (tab == std::string_view::npos) {
      out.push_back(line.substr(start));
      return;
    }
    out.push_back(line.substr(start, tab - start));
    start = tab + 1;
  }
}

std::string join_names(const std::vector<std::string_view>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) s += ", ";
    s += names[i];
  }
  return s;
}

std::string where(const std::string& path, size_t line_no) { return path + ":" + std::to_string(line_no); }

// Short, printable excerpt of a bad field for an error message.
std::string quote_excerpt(std::string_view s) {
  constexpr size_t kMax = 40;
  // printable(): a data file's control bytes must not reach the user's terminal.
  return "'" + printable(s.substr(0, kMax)) + (s.size() > kMax ? "...'" : "'");
}

// Which header columns hold what for one GLUE file; empty name = not present in that split.
struct TsvColumns {
  std::string_view text, pair, label, index;
};

TsvColumns glue_columns(Task task, Split split) {
  const bool test = split == Split::kTest;
  if (task == Task::kSst2) return {"sentence", "", test ? "" : "label", test ? "index" : ""};
  return {"#1 String", "#2 String", test ? "" : "Quality", test ? "index" : ""};
}

int parse_label(std::string_view field, std::string_view column, const std::string& path, size_t line_no) {
  if (field == "0") return 0;
  if (field == "1") return 1;
  throw FormatError(where(path, line_no) + ": expected label 0 or 1 in column '" + std::string(column) + "', found " +
                    quote_excerpt(field));
}

std::vector<Example> parse_glue_tsv(Task task, Split split, const std::string& path, const std::string& content) {
  const TsvColumns want = glue_columns(task, split);
  const std::vector<std::string_view> lines = split_lines(content);
  if (lines.empty()) {
    throw FormatError(where(path, 1) + ": expected a tab-separated header line, found an empty file");
  }

  std::string_view header_line = lines[0];
  // The MSR paraphrase corpus starts with a UTF-8 BOM and GLUE's MRPC files inherit it.
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (header_line.starts_with(kBom)) header_line.remove_prefix(kBom.size());
  std::vector<std::string_view> header;
  split_tabs(header_line, header);

  auto find_column = [&](std::string_view name) -> size_t {
    if (name.empty()) return std::string_view::npos;
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) {
      throw FormatError(where(path, 1) + ": expected a header with a column named '" + std::string(name) +
                        "' (GLUE " + std::string(task_name(task)) + " " + std::string(split_name(split)) +
                        "), found columns " + join_names(header));
    }
    return static_cast<size_t>(it - header.begin());
  };
  const size_t text_col = find_column(want.text);
  const size_t pair_col = find_column(want.pair);
  const size_t label_col = find_column(want.label);
  const size_t index_col = find_column(want.index);

  std::vector<Example> examples;
  examples.reserve(lines.size() - 1);
  std::vector<std::string_view> fields;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t line_no = i + 1;
    split_tabs(lines[i], fields);
    if (fields.size() != header.size()) {
      throw FormatError(where(path, line_no) + ": expected " + std::to_string(header.size()) +
                        " tab-separated columns (" + join_names(header) + "), found " + std::to_string(fields.size()));
    }
    Example ex;
    ex.index = static_cast<int64_t>(i - 1);
    if (index_col != std::string_view::npos) {
      const std::string_view f = fields[index_col];
      int64_t v = 0;
      const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
      if (ec != std::errc() || end != f.data() + f.size() || f.empty()) {
        throw FormatError(where(path, line_no) + ": expected an integer in column 'index', found " + quote_excerpt(f));
      }
      ex.index = v;
    }
    ex.text.assign(fields[text_col]);
    if (pair_col != std::string_view::npos) {
      ex.text_pair.assign(fields[pair_col]);
      ex.has_pair = true;
    }
    if (label_col != std::string_view::npos) ex.label = parse_label(fields[label_col], want.label, path, line_no);
    examples.push_back(std::move(ex));
  }
  return examples;
}

std::vector<Example> parse_imdb_jsonl(const std::string& path, const std::string& content) {
  const std::vector<std::string_view> lines = split_lines(content);
  std::vector<Example> examples;
  examples.reserve(lines.size());
  constexpr const char* kExpected = "expected a JSON object {\"text\": string, \"label\": 0 or 1}";
  for (size_t i = 0; i < lines.size(); ++i) {
    const size_t line_no = i + 1;
    if (lines[i].empty()) throw FormatError(where(path, line_no) + ": " + kExpected + ", found an empty line");
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(lines[i].begin(), lines[i].end());
    } catch (const nlohmann::json::parse_error& e) {
      throw FormatError(where(path, line_no) + ": " + kExpected + ", found invalid JSON (" + json_error_text(e) + ")");
    }
    if (!j.is_object()) {
      throw FormatError(where(path, line_no) + ": " + kExpected + ", found a JSON " + j.type_name());
    }
    const auto text = j.find("text");
    const auto label = j.find("label");
    if (text == j.end() || !text->is_string()) {
      throw FormatError(where(path, line_no) + ": " + kExpected + ", found " +
                        (text == j.end() ? std::string("no \"text\" key") : "\"text\" of type " + std::string(text->type_name())));
    }
    if (label == j.end() || !label->is_number_integer() || (*label != 0 && *label != 1)) {
      throw FormatError(where(path, line_no) + ": " + kExpected + ", found " +
                        (label == j.end() ? std::string("no \"label\" key") : "\"label\": " + label->dump()));
    }
    Example ex;
    ex.index = static_cast<int64_t>(i);
    ex.text = std::move(text->get_ref<std::string&>());
    ex.label = label->get<int>();
    examples.push_back(std::move(ex));
  }
  return examples;
}

void check_counts(const ExpectedFile& want, const std::string& path, const std::vector<Example>& examples) {
  const auto rows = static_cast<int64_t>(examples.size());
  if (rows != want.rows) {
    throw DataError(path + ": expected " + std::to_string(want.rows) + " rows (per shared/data/README.md), found " +
                    std::to_string(rows));
  }
  if (want.label0 < 0) return;  // unlabeled: every label is -1 by construction
  int64_t counts[2] = {0, 0};
  for (const Example& ex : examples) ++counts[ex.label];
  if (counts[0] != want.label0 || counts[1] != want.label1) {
    throw DataError(path + ": expected label counts 0:" + std::to_string(want.label0) + " 1:" +
                    std::to_string(want.label1) + " (per shared/data/README.md), found 0:" + std::to_string(counts[0]) +
                    " 1:" + std::to_string(counts[1]));
  }
}

// Uniform in [0, range) without modulo bias; written out so the stream of draws is the same with every
// standard library.
uint64_t bounded_draw(std::mt19937_64& rng, uint64_t range) {
  const uint64_t threshold = (0 - range) % range;  // 2^64 mod range
  while (true) {
    const uint64_t x = rng();
    if (x >= threshold) return x % range;
  }
}

}  // namespace

Task parse_task(std::string_view name) {
  if (name == "sst2") return Task::kSst2;
  if (name == "mrpc") return Task::kMrpc;
  if (name == "imdb") return Task::kImdb;
  throw UsageError("unknown task '" + std::string(name) + "': expected one of sst2, mrpc, imdb");
}

Split parse_split(std::string_view name) {
  if (name == "train") return Split::kTrain;
  if (name == "dev" || name == "validation") return Split::kDev;
  if (name == "test") return Split::kTest;
  throw UsageError("unknown split '" + std::string(name) + "': expected one of train, dev (or validation), test");
}

std::string_view task_name(Task task) {
  switch (task) {
    case Task::kSst2: return "sst2";
    case Task::kMrpc: return "mrpc";
    case Task::kImdb: return "imdb";
  }
  return "?";
}

std::string_view split_name(Split split) {
  switch (split) {
    case Split::kTrain: return "train";
    case Split::kDev: return "dev";
    case Split::kTest: return "test";
  }
  return "?";
}

std::string dataset_path(Task task, Split split, const std::string& data_dir) {
  return join_path(data_dir, expected_file(task, split).rel_path);
}

bool split_is_labeled(Task task, Split split) { return expected_file(task, split).label0 >= 0; }

int64_t split_rows(Task task, Split split) { return expected_file(task, split).rows; }

std::vector<std::string> label_names(Task task) {
  if (task == Task::kMrpc) return {"not_equivalent", "equivalent"};
  return {"negative", "positive"};
}

Dataset load_dataset(Task task, Split split, const std::string& data_dir) {
  const ExpectedFile& want = expected_file(task, split);
  Dataset d;
  d.task = task;
  d.split = split;
  d.path = join_path(data_dir, want.rel_path);
  d.num_labels = 2;
  if (!file_exists(d.path)) {
    throw IoError(d.path + ": data file not found (expected the " + std::string(task_name(task)) + " " +
                  std::string(split_name(split)) + " split here; the data directory must hold glue/ and imdb/ "
                  "as in shared/data)");
  }
  const std::string content = read_maybe_gzip(d.path);
  d.examples = task == Task::kImdb ? parse_imdb_jsonl(d.path, content) : parse_glue_tsv(task, split, d.path, content);
  check_counts(want, d.path, d.examples);
  return d;
}

std::vector<int64_t> seeded_permutation(int64_t size, uint64_t seed, int64_t prefix) {
  if (prefix < 0 || prefix > size) prefix = size;
  std::vector<int64_t> idx(static_cast<size_t>(size));
  std::iota(idx.begin(), idx.end(), int64_t{0});
  std::mt19937_64 rng(seed);
  // Forward Fisher-Yates stopped after `prefix` steps: the prefix equals that of the full shuffle.
  for (int64_t i = 0; i < prefix && i + 1 < size; ++i) {
    const auto j = i + static_cast<int64_t>(bounded_draw(rng, static_cast<uint64_t>(size - i)));
    std::swap(idx[static_cast<size_t>(i)], idx[static_cast<size_t>(j)]);
  }
  idx.resize(static_cast<size_t>(prefix));
  return idx;
}

Dataset take_subset(const Dataset& d, int64_t max_samples, uint64_t seed) {
  const auto size = static_cast<int64_t>(d.examples.size());
  if (max_samples <= 0 || max_samples >= size) return d;

  std::vector<int64_t> idx = seeded_permutation(size, seed, max_samples);
  // Back in dataset order so a subset reads like the file and batches stay comparable across seeds.
  std::sort(idx.begin(), idx.end());

  Dataset out;
  out.task = d.task;
  out.split = d.split;
  out.path = d.path;
  out.num_labels = d.num_labels;
  out.examples.reserve(idx.size());
  for (const int64_t i : idx) out.examples.push_back(d.examples[static_cast<size_t>(i)]);
  return out;
}

}  // namespace squish
