// `squish compare` and `squish glue-score` end to end: the tiny model against its dynamic-int8 copy
// (counts that add up, accuracies equal to squish eval's, model directories and predictions files
// giving the same analysis), the committed minilm-l6 predictions against the pandas/scikit-learn/
// scipy golden of tools/error_analysis_reference.py, and the inputs each command refuses.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "core/file_util.h"
#include "test_paths.h"

namespace squish {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::data_dir;
using test::quote;
using test::run_squish;
using test::RunResult;
using test::tiny_model;

// The golden and squish both compute in double from the same float32 logits; only exp/log rounding
// differs (tools/error_analysis_reference.py records the same tolerance).
constexpr double kGoldenTol = 1e-9;

std::string fixture(const std::string& name) { return test::fixtures_dir() + "/compare/" + name; }

// The tiny model quantized once per test process (about a second).
const std::string& tiny_int8() {
  static const std::string dir = [] {
    const std::string out = test::temp_dir("compare") + "/tiny-int8";
    const RunResult r = run_squish("quantize --model_dir " + quote(tiny_model()) + " --task sst2 --data_dir " +
                                   quote(data_dir()) + " --mode dynamic --threads 1 --output_dir " + quote(out));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return out;
  }();
  return dir;
}

json read_json(const std::string& path) { return json::parse(read_file(path)); }

std::string fresh(const std::string& name) { return test::temp_dir("compare") + "/" + name; }

json compare_dirs(const std::string& out, const std::string& extra = "") {
  const RunResult r = run_squish("compare --reference " + quote(tiny_model()) + " --model " + quote(tiny_int8()) +
                                 " --task sst2 --data_dir " + quote(data_dir()) + " --max_samples 200 --threads 1 --output_dir " +
                                 quote(out) + " " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("breakdown: both right"), std::string::npos) << r.out;
  return read_json(out + "/compare.json");
}

double eval_accuracy(const std::string& model, const std::string& predictions = "") {
  const std::string out = fresh("eval.json");
  const RunResult r = run_squish("eval --model_dir " + quote(model) + " --task sst2 --data_dir " + quote(data_dir()) +
                                 " --max_samples 200 --threads 1 --output " + quote(out) +
                                 (predictions.empty() ? "" : " --predictions " + quote(predictions)));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return read_json(out)["metrics"]["accuracy"].get<double>();
}

TEST(CliCompare, TinyModelAgainstItsInt8Copy) {
  const json j = compare_dirs(fresh("c1"));
  EXPECT_EQ(j["schema"], "squish.compare");
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["data"]["examples"], 200);
  ASSERT_TRUE(j["data"]["labeled"].get<bool>());
  const json& b = j["breakdown"];
  EXPECT_EQ(b["both_right"].get<int>() + b["both_wrong"].get<int>() + b["only_reference_wrong"].get<int>() +
                b["only_compressed_wrong"].get<int>(),
            200);
  int by_label_total = 0;
  for (const auto& row : b["by_label"]) by_label_total += row["total"].get<int>();
  EXPECT_EQ(by_label_total, 200);
  // Accuracy from the breakdown and from squish eval on the same subset agree.
  const double ref_acc = eval_accuracy(tiny_model()), cmp_acc = eval_accuracy(tiny_int8());
  EXPECT_DOUBLE_EQ(j["models"]["reference"]["accuracy"].get<double>(), ref_acc);
  EXPECT_DOUBLE_EQ(j["models"]["compressed"]["accuracy"].get<double>(), cmp_acc);
  EXPECT_NEAR((b["both_right"].get<int>() + b["only_compressed_wrong"].get<int>()) / 200.0, ref_acc, 1e-12);
  const json& agreement = j["agreement"]["counts"];
  EXPECT_EQ(agreement[0][1].get<int>() + agreement[1][0].get<int>(), j["agreement"]["flips"].get<int>());
  EXPECT_EQ(j["agreement"]["labels"][0], "negative");
  // int8 weights move the logits a little: drift is positive but small, and the models mostly agree.
  EXPECT_GT(j["drift"]["max_abs_logit_delta"].get<double>(), 0.0);
  EXPECT_LT(j["drift"]["mean_kl"].get<double>(), 0.05);
  EXPECT_GT(j["correlation"]["pearson"].get<double>(), 0.9);
  int histogram_total = 0;
  for (const auto& n : j["models"]["reference"]["histogram"]["all"]) histogram_total += n.get<int>();
  EXPECT_EQ(histogram_total, 200);
  EXPECT_EQ(j["models"]["reference"]["histogram"]["edges"].size(), 11u);
  for (const auto& e : j["examples"]["both_right"]) EXPECT_FALSE(e["text"].get<std::string>().empty());
  EXPECT_EQ(j["per_example"].size(), 200u);
}

TEST(CliCompare, PredictionsFilesGiveTheSameAnalysis) {
  const json dirs = compare_dirs(fresh("c2"));
  const std::string ref = fresh("ref.jsonl"), cmp = fresh("cmp.jsonl");
  eval_accuracy(tiny_model(), ref);
  eval_accuracy(tiny_int8(), cmp);
  const std::string out = fresh("c3");
  const RunResult r = run_squish("compare --reference_predictions " + quote(ref) + " --model_predictions " + quote(cmp) +
                                 " --task sst2 --data_dir " + quote(data_dir()) + " --output_dir " + quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json files = read_json(out + "/compare.json");
  for (const char* key : {"drift", "correlation", "per_example"}) EXPECT_EQ(files[key], dirs[key]) << key;
  EXPECT_EQ(files["agreement"]["counts"], dirs["agreement"]["counts"]);
  EXPECT_EQ(files["examples"]["top_flips"].size(), dirs["examples"]["top_flips"].size());
  for (const char* o : {"both_right", "both_wrong", "only_reference_wrong", "only_compressed_wrong"}) {
    EXPECT_EQ(files["breakdown"][o], dirs["breakdown"][o]) << o;
    for (size_t i = 0; i < files["examples"][o].size(); ++i)
      EXPECT_EQ(files["examples"][o][i]["text"], dirs["examples"][o][i]["text"]);
  }
  // Without --task there are no texts, but the statistics stand.
  const std::string bare = fresh("c4");
  ASSERT_EQ(run_squish("compare --reference_predictions " + quote(ref) + " --model_predictions " + quote(cmp) +
                       " --output_dir " + quote(bare)).exit_code, 0);
  const json no_task = read_json(bare + "/compare.json");
  EXPECT_EQ(no_task["breakdown"]["both_right"], dirs["breakdown"]["both_right"]);
  EXPECT_FALSE(no_task["models"]["reference"].contains("task_metric"));
  for (const auto& e : no_task["examples"]["both_right"]) EXPECT_EQ(e["text"], "");
}

void expect_near_golden(const json& golden, const json& ours, const std::string& what) {
  if (golden.is_null()) {
    EXPECT_TRUE(ours.is_null()) << what;
  } else if (golden.is_number_float()) {
    EXPECT_NEAR(ours.get<double>(), golden.get<double>(), kGoldenTol) << what;
  } else {
    EXPECT_EQ(ours, golden) << what;
  }
}

TEST(CliCompare, MatchesPandasSklearnScipyGoldenOnMinilm) {
  const json golden = read_json(fixture("reference_golden.json"));
  const json& g = golden["compare"];
  const std::string out = fresh("golden");
  const RunResult r = run_squish("compare --reference_predictions " + quote(fixture("fp32_sst2.predictions.jsonl")) +
                                 " --model_predictions " + quote(fixture("int8_sst2.predictions.jsonl")) + " --output_dir " +
                                 quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = read_json(out + "/compare.json");
  EXPECT_EQ(j["data"]["examples"], g["examples"]);
  for (const char* side : {"reference", "compressed"}) {
    expect_near_golden(g["accuracy"][side], j["models"][side]["accuracy"], std::string(side) + " accuracy");
    for (const auto& [key, value] : g["confidence"][side].items())
      expect_near_golden(value, j["models"][side]["confidence"][key], std::string(side) + " confidence " + key);
  }
  for (const auto& [key, value] : g["breakdown"].items()) EXPECT_EQ(j["breakdown"][key], value) << key;
  for (const auto& row : j["breakdown"]["by_label"])
    for (const auto& [key, value] : g["breakdown_by_label"][std::to_string(row["label"].get<int>())].items())
      EXPECT_EQ(row[key], value) << key;
  EXPECT_EQ(j["agreement"]["counts"], g["agreement"]);
  EXPECT_EQ(j["agreement"]["flips"], g["flips"]);
  expect_near_golden(g["pearson_p1"], j["correlation"]["pearson"], "pearson");
  expect_near_golden(g["spearman_p1"], j["correlation"]["spearman"], "spearman");
  for (const auto& [key, value] : g["drift"].items()) expect_near_golden(value, j["drift"][key], key);
}

TEST(CliGlueScore, FromSavedResultsMatchesGolden) {
  const json golden = read_json(fixture("reference_golden.json"));
  const std::string out = fresh("glue.json");
  const RunResult r = run_squish("glue-score --from_results fp32=" + quote(fixture("fp32_sst2.eval.json")) + " fp32=" +
                                 quote(fixture("fp32_mrpc.eval.json")) + " int8-dynamic=" + quote(fixture("int8_sst2.eval.json")) +
                                 " int8-dynamic=" + quote(fixture("int8_mrpc.eval.json")) + " --output " + quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("int8-dynamic"), std::string::npos) << r.out;
  const json j = read_json(out);
  EXPECT_EQ(j["schema"], "squish.glue_score");
  ASSERT_EQ(j["methods"].size(), golden["glue"].size());
  for (size_t i = 0; i < j["methods"].size(); ++i) {
    const json &ours = j["methods"][i], &theirs = golden["glue"][i];
    EXPECT_EQ(ours["method"], theirs["method"]);
    for (const char* key : {"sst2_accuracy", "mrpc_f1", "glue_score"})
      expect_near_golden(theirs[key], ours[key], theirs["method"].get<std::string>() + " " + key);
  }
}

TEST(CliGlueScore, ModelsAndRunFoldersOnTinyModel) {
  // A plain model directory is fp32, its task from config.json; the quantize output is a run folder
  // whose method is int8-dynamic and whose task is its source's. SST-2 only: no GLUE mean, a warning.
  const std::string out = fresh("glue-tiny.json");
  RunResult r = run_squish("glue-score --models " + quote(tiny_model()) + " " + quote(tiny_int8()) + " --data_dir " +
                           quote(data_dir()) + " --threads 1 --output " + quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("no mrpc model"), std::string::npos) << r.err;
  const json j = read_json(out);
  ASSERT_EQ(j["methods"].size(), 2u);
  EXPECT_EQ(j["methods"][0]["method"], "fp32");
  // shared/models/README.md: 706 of 872 SST-2 dev sentences at max_length 128.
  EXPECT_NEAR(j["methods"][0]["sst2_accuracy"].get<double>(), 706.0 / 872.0, 1e-12);
  EXPECT_TRUE(j["methods"][0]["glue_score"].is_null());
  EXPECT_EQ(j["methods"][1]["method"], "int8-dynamic");
  EXPECT_EQ(j["models"][1]["task"], "sst2");

  r = run_squish("glue-score --runs " + quote(tiny_int8()) + " --data_dir " + quote(data_dir()) + " --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("int8-dynamic"), std::string::npos) << r.out;
  // A plain model directory is not a run folder.
  EXPECT_EQ(run_squish("glue-score --runs " + quote(tiny_model()) + " --data_dir " + quote(data_dir())).exit_code, 2);
}

TEST(CliGlueScore, RefusesAmbiguousOrUnscorableInput) {
  // Two SST-2 models under one method cannot be paired.
  EXPECT_EQ(run_squish("glue-score --from_results a=" + quote(fixture("fp32_sst2.eval.json")) + " a=" +
                       quote(fixture("int8_sst2.eval.json"))).exit_code, 7);
  EXPECT_EQ(run_squish("glue-score").exit_code, 2);
  EXPECT_EQ(run_squish("glue-score --from_results =" + quote(fixture("fp32_sst2.eval.json"))).exit_code, 2);
  // A predictions file is not an eval JSON: its first line parses, the whole does not.
  EXPECT_EQ(run_squish("glue-score --from_results x=" + quote(fixture("fp32_sst2.predictions.jsonl"))).exit_code, 4);
  EXPECT_EQ(run_squish("glue-score --models /nonexistent/model").exit_code, 3);
}

// HellaSwag predictions files (squish eval --task hellaswag --predictions) of three items, the items
// file beside them: acc_norm's choices compared, acc's added, the contexts shown for the flips.
TEST(CliCompare, HellaswagPredictionsFilesCompareAccNormChoicesAndLogLikelihoods) {
  const std::string items = fresh("items.jsonl"), ref = fresh("ref.jsonl"), cmp = fresh("cmp.jsonl");
  std::ofstream(items)
      << R"({"query": "A man sits down.", "choices": ["He eats.", "He runs.", "He reads.", "He sings."], "gold": 2})"
      << "\n"
      << R"({"query": "A cat jumps.", "choices": ["It lands.", "It flies.", "It swims.", "It talks."], "gold": 0})"
      << "\n"
      << R"({"query": "Rain falls.", "choices": ["Sun.", "Puddles form.", "Snow.", "Dust."], "gold": 1})"
      << "\n";
  // The hand-made case of tests/eval/test_error_analysis.cpp (MultipleChoiceAgreement).
  std::ofstream(ref) << R"({"index":0,"loglikelihoods":[-4,-3,-1,-5],"pred":2,"pred_norm":2,"gold":2})"
                     << "\n"
                     << R"({"index":1,"loglikelihoods":[-2,-1,-3,-3],"pred":1,"pred_norm":0,"gold":0})"
                     << "\n"
                     << R"({"index":2,"loglikelihoods":[-6,-2,-2,-9],"pred":1,"pred_norm":1,"gold":1})"
                     << "\n";
  std::ofstream(cmp) << R"({"index":0,"loglikelihoods":[-4,-3,-2,-5],"pred":2,"pred_norm":1,"gold":2})"
                     << "\n"
                     << R"({"index":1,"loglikelihoods":[-1,-2,-3,-3],"pred":0,"pred_norm":0,"gold":0})"
                     << "\n"
                     << R"({"index":2,"loglikelihoods":[-6,-2,-2,-9],"pred":1,"pred_norm":2,"gold":1})"
                     << "\n";
  const std::string out = fresh("hellaswag");
  const RunResult r =
      run_squish("compare --task hellaswag --data_file " + quote(items) + " --reference_predictions " + quote(ref) +
                 " --model_predictions " + quote(cmp) + " --output_dir " + quote(out) + " --report");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("acc_norm"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("log-likelihood drift"), std::string::npos) << r.out;
  const json j = json::parse(read_file(out + "/compare.json"));
  const json& m = j["multiple_choice"];
  EXPECT_DOUBLE_EQ(m["reference"]["acc_norm"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(m["compressed"]["acc_norm"].get<double>(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(m["reference"]["acc"].get<double>(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(m["compressed"]["acc"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(m["acc_norm_agreement_rate"].get<double>(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(m["acc_agreement_rate"].get<double>(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(m["mean_abs_loglikelihood_delta"].get<double>(), 0.25);
  EXPECT_EQ(j["models"]["reference"]["task_metric"]["name"], "acc_norm");
  EXPECT_EQ(j["agreement"]["flips"], 2);
  ASSERT_EQ(j["examples"]["top_flips"].size(), 2u);
  std::set<std::string> contexts;
  for (const auto& e : j["examples"]["top_flips"]) contexts.insert(e["text"].get<std::string>());
  EXPECT_EQ(contexts, (std::set<std::string>{"A man sits down.", "Rain falls."}));
  // The page: acc and acc_norm and both agreements; the two confidence histograms, no P(class 1).
  const std::string page = read_file(out + "/report.html");
  EXPECT_NE(page.find("choices agree</td><td>0.6667"), std::string::npos);  // acc's
  EXPECT_NE(page.find("acc_norm: reference, compressed</td><td>1.0000, 0.3333"), std::string::npos);
  EXPECT_EQ(page.find("P(class 1)"), std::string::npos);
  EXPECT_NE(r.out.find("(2 charts)"), std::string::npos) << r.out;

  // Another file's items (gold 0 where these say 2) are refused, naming the predictions file.
  const std::string other = fresh("other.jsonl");
  std::ofstream(other) << R"({"query": "q", "choices": ["a", "b", "c", "d"], "gold": 0})"
                       << "\n";
  const RunResult wrong =
      run_squish("compare --task hellaswag --data_file " + quote(other) + " --reference_predictions " + quote(ref) +
                 " --model_predictions " + quote(cmp) + " --output_dir " + quote(fresh("hellaswag_wrong")));
  EXPECT_EQ(wrong.exit_code, 7) << wrong.err;
  EXPECT_NE(wrong.err.find("ref.jsonl"), std::string::npos) << wrong.err;
  // Items are scored whole: --max_length means nothing to HellaSwag.
  const RunResult length = run_squish("compare --task hellaswag --reference " + quote(tiny_model()) + " --model " +
                                      quote(tiny_model()) + " --max_length 64 --output_dir " + quote(fresh("hl")));
  EXPECT_EQ(length.exit_code, 2);
  EXPECT_NE(length.err.find("--max_length"), std::string::npos) << length.err;
}

TEST(CliCompare, RefusesBadInputs) {
  const std::string ref = fixture("fp32_sst2.predictions.jsonl"), cmp = fixture("int8_sst2.predictions.jsonl");
  // Half a pair, both pairs, model directories without a task.
  EXPECT_EQ(run_squish("compare --reference_predictions " + quote(ref) + " --output_dir " + quote(fresh("x1"))).exit_code, 2);
  EXPECT_EQ(run_squish("compare --reference " + quote(tiny_model()) + " --model " + quote(tiny_model()) +
                       " --reference_predictions " + quote(ref) + " --model_predictions " + quote(cmp) + " --output_dir " +
                       quote(fresh("x2"))).exit_code, 2);
  EXPECT_EQ(run_squish("compare --reference " + quote(tiny_model()) + " --model " + quote(tiny_model()) + " --output_dir " +
                       quote(fresh("x3"))).exit_code, 2);
  EXPECT_EQ(run_squish("compare --reference_predictions " + quote(ref) + " --model_predictions " + quote(cmp) +
                       " --max_samples 10 --output_dir " + quote(fresh("x8"))).exit_code, 2);
  // An output folder holding files is refused before any work.
  const std::string full = fresh("x4");
  fs::create_directories(full);
  std::ofstream(full + "/keep") << "x";
  EXPECT_EQ(run_squish("compare --reference_predictions " + quote(ref) + " --model_predictions " + quote(cmp) +
                       " --output_dir " + quote(full)).exit_code, 3);
  // SST-2 predictions read as MRPC dev (408 examples): indices past it are not in the data set.
  const RunResult wrong_task = run_squish("compare --reference_predictions " + quote(ref) + " --model_predictions " +
                                          quote(cmp) + " --task mrpc --data_dir " + quote(data_dir()) + " --output_dir " +
                                          quote(fresh("x5")));
  EXPECT_EQ(wrong_task.exit_code, 7) << wrong_task.err;
  EXPECT_FALSE(fs::exists(fresh("x5")));
  // Predictions of different example sets do not align.
  EXPECT_EQ(run_squish("compare --reference_predictions " + quote(ref) + " --model_predictions " +
                       quote(fixture("int8_mrpc.predictions.jsonl")) + " --output_dir " + quote(fresh("x6"))).exit_code, 7);
  // A line that is not a prediction names the file and line.
  const std::string bad = fresh("bad.jsonl");
  std::ofstream(bad) << "{\"index\":0,\"label\":1,\"pred\":1,\"logits\":[0.1,0.2]}\n{\"index\":1,\"label\":0}\n";
  const RunResult malformed = run_squish("compare --reference_predictions " + quote(bad) + " --model_predictions " + quote(bad) +
                                         " --output_dir " + quote(fresh("x7")));
  EXPECT_EQ(malformed.exit_code, 4);
  EXPECT_NE(malformed.err.find("bad.jsonl:2"), std::string::npos) << malformed.err;
}

}  // namespace
}  // namespace squish
