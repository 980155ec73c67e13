// GLUE score pairing on a hand-made table, METHOD=PATH parsing, what each run folder's JSON says
// (folders written here as the commands lay them out, docs/run_folder.md), and the predictions
// JSONL reader of squish compare.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "eval/compare_pipeline.h"
#include "eval/glue_score.h"
#include "test_paths.h"

namespace squish {
namespace {

namespace fs = std::filesystem;

GlueTaskResult scored(const std::string& method, const std::string& task, double value) {
  GlueTaskResult t;
  t.method = method, t.task = task, t.value = value, t.path = method + "/" + task;
  return t;
}

TEST(GlueScore, MeanOfSst2AccuracyAndMrpcF1PerMethod) {
  // fp32: (0.90 + 0.86) / 2 = 0.88; int8: (0.89 + 0.84) / 2 = 0.865; prune has SST-2 only.
  const auto methods = pair_by_method({scored("fp32", "sst2", 0.90), scored("int8", "mrpc", 0.84),
                                       scored("prune", "sst2", 0.80), scored("fp32", "mrpc", 0.86),
                                       scored("int8", "sst2", 0.89)});
  ASSERT_EQ(methods.size(), 3u);
  EXPECT_EQ(methods[0].method, "fp32");  // first-seen order
  EXPECT_DOUBLE_EQ(*methods[0].glue, 0.88);
  EXPECT_EQ(methods[1].method, "int8");
  EXPECT_DOUBLE_EQ(*methods[1].sst2_accuracy, 0.89);
  EXPECT_DOUBLE_EQ(*methods[1].mrpc_f1, 0.84);
  EXPECT_DOUBLE_EQ(*methods[1].glue, 0.865);
  EXPECT_EQ(methods[2].method, "prune");
  EXPECT_FALSE(methods[2].glue.has_value());
  EXPECT_FALSE(methods[2].mrpc_f1.has_value());
}

TEST(GlueScore, RefusesTwoModelsForOneTaskAndOtherTasks) {
  EXPECT_THROW(pair_by_method({scored("a", "sst2", 0.9), scored("a", "sst2", 0.8)}), DataError);
  EXPECT_THROW(pair_by_method({scored("a", "imdb", 0.9)}), DataError);
}

TEST(GlueScore, ParsesMethodEqualsPath) {
  EXPECT_EQ(parse_glue_entry("int8=/m/q").method, "int8");
  EXPECT_EQ(parse_glue_entry("int8=/m/q").path, "/m/q");
  EXPECT_EQ(parse_glue_entry("/m/q").method, "");
  EXPECT_EQ(parse_glue_entry("/m/q").path, "/m/q");
  EXPECT_THROW(parse_glue_entry("=/m/q"), UsageError);
  EXPECT_THROW(parse_glue_entry("int8="), UsageError);
}

std::string folder(const std::string& name, const std::string& file = "", const std::string& json = "") {
  const std::string dir = test::temp_dir("glue") + "/" + name;
  fs::create_directories(dir);
  if (!file.empty()) std::ofstream(dir + "/" + file) << json;
  return dir;
}

TEST(RunFolder, EachCommandsJsonSaysMethodTaskAndModel) {
  const std::string trained = folder("trained", "training.json", R"({"schema": "squish.training", "task": "mrpc"})");
  RunFolder f = describe_run_folder(trained);
  EXPECT_EQ(f.method, "fp32");
  EXPECT_EQ(f.task, "mrpc");
  EXPECT_EQ(f.model_dir, trained);
  EXPECT_TRUE(f.has_run_json);

  // A quantized copy without finetuning_task takes its source's task.
  const std::string quantized = folder("quantized", "quantization.json",
                                       R"({"mode": "static", "source": {"model_dir": ")" + trained + R"("}})");
  f = describe_run_folder(quantized);
  EXPECT_EQ(f.method, "int8-static");
  EXPECT_EQ(f.task, "mrpc");
  const std::string planned = folder("planned", "quantization.json",
                                     R"({"mode": "plan", "scheme": {"rounding": "gptq"}, "source": {"model_dir": "/gone"}})");
  std::ofstream(planned + "/config.json") << R"({"finetuning_task": "SST-2"})";
  f = describe_run_folder(planned);
  EXPECT_EQ(f.method, "plan-gptq");
  EXPECT_EQ(f.task, "sst2");

  const std::string mixed = folder("mixed", "results.json",
                                   R"({"schema": "squish.mixed_precision", "request": {"task": "sst2"}})");
  f = describe_run_folder(mixed);
  EXPECT_EQ(f.method, "mixed-precision");
  EXPECT_EQ(f.model_dir, mixed + "/model");

  const std::string pruned = folder("pruned", "pruning.json", R"({"method": "imp", "task": "sst2"})");
  f = describe_run_folder(pruned);
  EXPECT_EQ(f.method, "prune-imp");
  EXPECT_EQ(f.model_dir, pruned + "/dense");

  f = describe_run_folder(folder("plain"));
  EXPECT_EQ(f.method, "fp32");
  EXPECT_EQ(f.task, "");
  EXPECT_FALSE(f.has_run_json);

  EXPECT_THROW(describe_run_folder(folder("broken", "pruning.json", R"({"method": 3})")), FormatError);
  EXPECT_THROW(describe_run_folder(folder("garbled", "training.json", "not json")), FormatError);
  EXPECT_THROW(describe_run_folder("/nonexistent/run"), IoError);
}

TEST(PredictionsJsonl, ReadsEvalLinesAndNamesBadOnes) {
  const std::string dir = folder("jsonl");
  std::ofstream(dir + "/ok.jsonl") << "{\"index\":3,\"label\":1,\"logits\":[-1.5,2.25],\"pred\":1}\n\n"
                                      "{\"index\":7,\"label\":-1,\"logits\":[0.5,0.25],\"pred\":0}\n";
  const auto rows = read_predictions_jsonl(dir + "/ok.jsonl");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].index, 3);
  EXPECT_EQ(rows[0].logits, (std::vector<float>{-1.5f, 2.25f}));
  EXPECT_EQ(rows[1].label, -1);
  EXPECT_EQ(rows[1].pred, 0);
  for (const char* bad : {"[1,2]", "{\"index\":1,\"label\":0,\"pred\":0}", "{\"index\":\"1\",\"label\":0,\"pred\":0,\"logits\":[1]}",
                          "{\"index\":1,\"label\":0,\"pred\":0,\"logits\":[\"a\"]}", "{\"index\":1,"}) {
    std::ofstream(dir + "/bad.jsonl") << bad << "\n";
    try {
      read_predictions_jsonl(dir + "/bad.jsonl");
      ADD_FAILURE() << bad;
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("bad.jsonl:1"), std::string::npos) << e.what();
    }
  }
  std::ofstream(dir + "/empty.jsonl") << "\n";
  EXPECT_THROW(read_predictions_jsonl(dir + "/empty.jsonl"), FormatError);
  EXPECT_THROW(read_predictions_jsonl(dir + "/missing.jsonl"), IoError);
}

}  // namespace
}  // namespace squish
