// The task registry the CLI and the pipelines read: every classification task is one the dataset
// readers load, with the split they score by default; hellaswag is the multiple-choice task.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/calibration_data.h"
#include "eval/eval_pipeline.h"
#include "eval/tasks.h"
#include "io/datasets/dataset.h"

namespace squish {
namespace {

using ::testing::ElementsAre;

TEST(TaskRegistry, ListsEveryTaskByKindWithItsDefaultSplit) {
  EXPECT_THAT(task_names(), ElementsAre("sst2", "mrpc", "imdb", "hellaswag"));
  EXPECT_THAT(task_names(TaskKind::kClassification), ElementsAre("sst2", "mrpc", "imdb"));
  EXPECT_THAT(task_names(TaskKind::kMultipleChoice), ElementsAre("hellaswag"));
  EXPECT_EQ(default_eval_split("imdb"), "test");  // IMDB has no dev split
  EXPECT_EQ(default_eval_split("sst2"), "dev");
  EXPECT_EQ(default_eval_split("hellaswag"), "dev");
  EXPECT_THROW(default_eval_split("cola"), UsageError);
  EXPECT_EQ(find_task("cola"), nullptr);
  EXPECT_TRUE(is_language_modelling_task("hellaswag"));
  EXPECT_FALSE(is_language_modelling_task("sst2"));
  EXPECT_FALSE(is_language_modelling_task("cola"));
}

TEST(TaskRegistry, EveryClassificationTaskIsOneTheDatasetReadersLoad) {
  for (const std::string& name : task_names(TaskKind::kClassification)) {
    EXPECT_EQ(task_name(parse_task(name)), name);
    const Split split = parse_split(std::string(find_task(name)->default_split));
    EXPECT_TRUE(split_is_labeled(parse_task(name), split)) << name << " is scored on a split without labels";
  }
}

}  // namespace
}  // namespace squish
