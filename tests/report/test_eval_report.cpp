// The eval report on a hand-made result: every field of the JSON schema, label names on the
// confusion matrix, the task's own metric name, counts with separators.
#include <gtest/gtest.h>

#include "report/eval_report.h"

namespace squish {
namespace {

EvalResult hand_made_result() {
  EvalResult r;
  r.task = "imdb";
  r.split = "test";
  r.data_path = "data/imdb/test.jsonl.gz";
  r.model_source = "m/model.safetensors";
  r.architecture = "BertForSequenceClassification";
  r.id2label = {{0, "neg"}, {1, "pos"}};
  r.examples = 12345;
  r.labeled = true;
  r.confusion = confusion_matrix({0, 0, 1, 1, 1}, {0, 1, 1, 1, 0}, 2);
  r.metrics = classification_metrics(r.confusion);
  r.score = task_score(Task::kImdb, r.metrics);
  r.parameters = 4386178;
  r.resident_bytes = 17580000;
  r.model_file_bytes = 17549312;
  r.real_tokens = 900;
  r.batch_tokens = 1000;
  r.truncated_examples = 42;
  r.load_seconds = 0.5;
  r.wall_seconds = 2.0;
  r.threads = 1;
  r.predictions = {{7, 1, 0, {0.5f, -0.25f}}};
  return r;
}

TEST(EvalReport, JsonCarriesHeaderRequestAndLabelledConfusion) {
  EvalRequest q;
  q.model_dir = "m";
  q.task = "imdb";
  q.split = "test";
  q.options.max_length = 512;
  const auto j = eval_result_json(hand_made_result(), q);
  EXPECT_EQ(j["schema"], "squish.eval");
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_FALSE(j["squish_version"].get<std::string>().empty());
  EXPECT_EQ(j["created_utc"].get<std::string>().size(), 20u);  // 2026-12-01T09:00:00Z
  EXPECT_TRUE(j["host"].contains("isa"));
  EXPECT_EQ(j["request"]["max_length"], 512);
  EXPECT_EQ(j["request"]["data_dir"], "../shared/data");
  EXPECT_EQ(j["model"]["id2label"]["1"], "pos");
  EXPECT_EQ(j["data"]["truncated_examples"], 42);
  EXPECT_EQ(j["confusion_matrix"]["labels"], nlohmann::json({"neg", "pos"}));
  EXPECT_EQ(j["confusion_matrix"]["counts"], nlohmann::json({{1, 1}, {1, 2}}));
  EXPECT_DOUBLE_EQ(j["metrics"]["accuracy"].get<double>(), 0.6);
  EXPECT_DOUBLE_EQ(j["tokens"]["padding_fraction"].get<double>(), 0.1);
  EXPECT_DOUBLE_EQ(j["timing"]["load_seconds"].get<double>(), 0.5);
}

TEST(EvalReport, TableNamesTheTaskMetricAndTheLabels) {
  const std::string t = eval_result_table(hand_made_result());
  EXPECT_NE(t.find("IMDB accuracy"), std::string::npos) << t;
  EXPECT_EQ(t.find("GLUE"), std::string::npos) << t;  // IMDB is not a GLUE task
  EXPECT_NE(t.find("12,345 examples"), std::string::npos) << t;
  EXPECT_NE(t.find("4,386,178"), std::string::npos) << t;
  EXPECT_NE(t.find("neg"), std::string::npos) << t;
  EXPECT_NE(t.find("truncated 42 of 12,345"), std::string::npos) << t;
  EXPECT_NE(t.find("1 thread,"), std::string::npos) << t;
  EXPECT_NE(t.find("padding 10.0%"), std::string::npos) << t;
}

TEST(EvalReport, PredictionsAreOneJsonLinePerExample) {
  EXPECT_EQ(predictions_jsonl(hand_made_result()), "{\"index\":7,\"label\":1,\"logits\":[0.5,-0.25],\"pred\":0}\n");
}

}  // namespace
}  // namespace squish
