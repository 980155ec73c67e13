// A causal LM's calibration texts (load_text_calibration_set): JSONL and plain-text files, a task's
// split, the seeded draw, and the refusals that keep HellaSwag's items out of calibration.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/file_util.h"
#include "eval/calibration_data.h"
#include "io/tokenizer/tokenizer.h"
#include "test_paths.h"

namespace squish {
namespace {

const Tokenizer& gpt2() {
  static const std::unique_ptr<Tokenizer> t = load_tokenizer(test::shared_dir() + "/models/gpt2-tokenizer");
  return *t;
}

CalibrationRequest request(const std::string& source, int64_t size) {
  CalibrationRequest r;
  r.task = source;
  r.data_dir = test::shared_dir() + "/data";
  r.size = size;
  r.max_length = 16;
  r.batch_size = 4;
  return r;
}

TEST(CalibrationTexts, JsonlAndPlainTextFilesGiveOneExampleATextNoDuplicatesCounted) {
  const std::string dir = test::temp_dir("calib_texts");
  write_file_atomic(dir + "/texts.jsonl", "{\"text\": \"one two three\"}\n{\"text\": \"four five\"}\n");
  write_file_atomic(dir + "/texts.txt", "first line\n\n   \nsecond line\nthird\n");
  const CalibrationSet jsonl = load_text_calibration_set(gpt2(), request(dir + "/texts.jsonl", 0));
  EXPECT_EQ(jsonl.indices, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(jsonl.tokens, 3 + 2);  // GPT-2 adds no special tokens: "one", " two", " three"; "four", " five"
  EXPECT_EQ(jsonl.duplicates, 0);
  EXPECT_TRUE(jsonl.request.eval_split.empty());
  const CalibrationSet txt = load_text_calibration_set(gpt2(), request(dir + "/texts.txt", 0));
  EXPECT_EQ(txt.indices, (std::vector<int64_t>{0, 3, 4}));  // blank lines are no texts; indices are line numbers
  const CalibrationSet two = load_text_calibration_set(gpt2(), request(dir + "/texts.txt", 2));
  EXPECT_EQ(two.indices.size(), 2u);
  EXPECT_EQ(two.indices, load_text_calibration_set(gpt2(), request(dir + "/texts.txt", 2)).indices);  // seeded
}

TEST(CalibrationTexts, ATasksSplitIsItsTexts) {
  const CalibrationSet imdb = load_text_calibration_set(gpt2(), request("imdb", 8));
  EXPECT_EQ(imdb.indices.size(), 8u);
  EXPECT_NE(imdb.path.find("imdb/train"), std::string::npos) << imdb.path;
  EXPECT_EQ(imdb.tokens, 8 * 16);  // every review is longer than 16 tokens
  EXPECT_EQ(imdb.truncated, 8);
}

TEST(CalibrationTexts, HellaswagItemsAreRefusedByNameAndAsFiles) {
  try {
    load_text_calibration_set(gpt2(), request("hellaswag", 8));
    FAIL() << "HellaSwag calibrated";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("validation split, the evaluation set"), std::string::npos) << e.what();
  }
  const std::string items = test::shared_dir() + "/data/hellaswag/hellaswag_val_500_hf_viczon7.jsonl";
  try {
    load_text_calibration_set(gpt2(), request(items, 8));
    FAIL() << "a file of HellaSwag items calibrated";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(items + " holds multiple-choice items"), std::string::npos) << e.what();
  }
  const std::string dir = test::temp_dir("calib_bad");
  write_file_atomic(dir + "/empty.txt", "\n \n");
  EXPECT_THROW(load_text_calibration_set(gpt2(), request(dir + "/empty.txt", 8)), FormatError);
  write_file_atomic(dir + "/no_text.jsonl", "{\"content\": \"x\"}\n");
  EXPECT_THROW(load_text_calibration_set(gpt2(), request(dir + "/no_text.jsonl", 8)), FormatError);
}

}  // namespace
}  // namespace squish
