// The evaluation data sets squish scores classifiers on (GLUE SST-2, GLUE MRPC, IMDB), read from the
// files documented in shared/data/README.md, plus deterministic subsets of them.
// This is not a general TSV/JSONL reader: each task's file layout is known, and every load is checked
// against the documented row and label counts so a truncated or swapped file is caught before scoring.
// Tokenization and batching live elsewhere (io/tokenizer, eval).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace squish {

enum class Task { kSst2, kMrpc, kImdb };
enum class Split { kTrain, kDev, kTest };

// "sst2", "mrpc", "imdb"; UsageError listing the valid names otherwise.
Task parse_task(std::string_view name);
// "train", "dev" (or "validation", the Hugging Face name), "test"; UsageError otherwise.
Split parse_split(std::string_view name);
std::string_view task_name(Task task);
std::string_view split_name(Split split);

struct Example {
  // GLUE test: the file's `index` column. Otherwise the 0-based row number in the file, which is what
  // Hugging Face datasets calls `idx` for GLUE train/dev.
  int64_t index = 0;
  std::string text;       // byte-exact as stored (SST-2 sentences keep their trailing space)
  std::string text_pair;  // MRPC's second sentence; empty otherwise
  bool has_pair = false;
  int label = -1;  // -1 = unlabeled (GLUE test splits)
};

struct Dataset {
  Task task = Task::kSst2;
  Split split = Split::kDev;
  std::string path;  // the file the examples came from
  std::vector<Example> examples;
  int num_labels = 2;
};

// The file a task/split is read from, e.g. "<data_dir>/glue/sst2/train.tsv.gz". UsageError for a
// split the task does not have (IMDB has no dev split).
std::string dataset_path(Task task, Split split, const std::string& data_dir);

// Whether the split's file carries gold labels (GLUE keeps its test labels private). UsageError for a
// split the task does not have.
bool split_is_labeled(Task task, Split split);
// The names of the task's labels in label order, as GLUE and IMDB name them: sst2 and imdb
// {negative, positive}, mrpc {not_equivalent, equivalent}.
std::vector<std::string> label_names(Task task);
// The examples the split holds (the documented count every load is checked against).
int64_t split_rows(Task task, Split split);

// data_dir is the folder holding glue/ and imdb/ (shared/data). Throws
//  - UsageError: IMDB with Split::kDev (the corpus has only train and test; use test),
//  - IoError: the file is missing or unreadable,
//  - FormatError "<path>:<line>: expected ..., found ...": a malformed header, row or JSON line,
//  - DataError: row or label counts differ from the table in shared/data/README.md.
Dataset load_dataset(Task task, Split split, const std::string& data_dir);

// The first `max_samples` entries of a seeded Fisher-Yates shuffle of 0..size-1, sorted back into
// dataset order. max_samples <= 0 or >= size returns every example. The shuffle uses std::mt19937_64
// and its own bounded draw (not std::uniform_int_distribution, whose algorithm differs between standard
// libraries), so a seed names the same subset on every platform:
//   for i in 0..n-1: j = i + draw(size - i); swap(idx[i], idx[j])
//   draw(r): x = rng() until x >= (2^64 mod r); return x mod r
Dataset take_subset(const Dataset& d, int64_t max_samples, uint64_t seed);

// The first `prefix` entries (all when prefix < 0) of that seeded Fisher-Yates shuffle of 0..size-1,
// in shuffled order: take_subset's draw, and the order training epochs visit examples in.
std::vector<int64_t> seeded_permutation(int64_t size, uint64_t seed, int64_t prefix = -1);

}  // namespace squish
