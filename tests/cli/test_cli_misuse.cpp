// What a new user meets off the normal path: the scoring commands refuse a split without labels, a
// bit plan refuses a model it was not made for, unmeasured values are absent rather than 0, quantized
// models are not silently trained, Ctrl-C and SIGTERM leave nothing half-written, and no output
// replaces an input. Each case: the exit code, a message naming the flag or file, and the files left.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "core/file_util.h"
#include "test_paths.h"

namespace squish {
namespace {

namespace fs = std::filesystem;
using test::data_dir;
using test::quote;
using test::run_squish;
using test::RunResult;
using test::tiny_model;

std::string common_args(const std::string& model) {
  return " --model_dir " + quote(model) + " --data_dir " + quote(data_dir()) + " --threads 1";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Staging folders or temporary files left beside `path` ("<name>.tmp.<pid>", ".<name>.tmp.<pid>.<n>").
std::vector<std::string> staging_left(const std::string& path) {
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(fs::path(path).parent_path()))
    if (entry.path().filename().string().find(".tmp.") != std::string::npos) left.push_back(entry.path());
  return left;
}

TEST(CliMisuse, ScoringCommandsRefuseASplitWithoutLabels) {
  const std::string dir = test::temp_dir("misuse");
  for (const std::string command :
       {"ptq-compare --calib_size 8", "calib-ablation --calib_sizes 8", "mixed-precision --calib_size 8"}) {
    const std::string out = dir + "/" + command.substr(0, command.find(' '));
    const RunResult r =
        run_squish(command + common_args(tiny_model()) + " --task sst2 --split test --output_dir " + quote(out));
    EXPECT_EQ(r.exit_code, 2) << command << "\n" << r.err;
    EXPECT_TRUE(contains(r.err, "--split test")) << r.err;
    EXPECT_TRUE(contains(r.err, "no labels")) << r.err;
    EXPECT_FALSE(fs::exists(out)) << command;
    EXPECT_TRUE(staging_left(out).empty()) << command;
  }
  // --task is required where a default would score a model on another task's data.
  const RunResult r = run_squish("mixed-precision" + common_args(tiny_model()) + " --output_dir " + quote(dir + "/mp"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "--task")) << r.err;
  fs::remove_all(dir);
}

TEST(CliMisuse, APlanRecordsItsModelAndIsRefusedOnAnother) {
  const std::string dir = test::temp_dir("misuse");
  ASSERT_EQ(run_squish("sensitivity" + common_args(tiny_model()) + " --task sst2 --calib_size 16 --bits 4 8 " +
                       "--output_dir " + quote(dir + "/s"))
                .exit_code,
            0);
  const RunResult a = run_squish("allocate --sensitivity " + quote(dir + "/s/sensitivity.json") +
                                 " --allocation uniform --uniform_bits 8 --output " + quote(dir + "/plan.json"));
  ASSERT_EQ(a.exit_code, 0) << a.err;
  nlohmann::json plan = nlohmann::json::parse(read_file(dir + "/plan.json"));
  ASSERT_TRUE(plan.contains("model")) << plan.dump();
  EXPECT_EQ(plan["model"]["architecture"], "BertForSequenceClassification");
  // bert-tiny: 2 layers of 4 Linears (QKV fused), the pooler and the classifier, each with its shape.
  EXPECT_EQ(plan["model"]["linears"].size(), 10u) << plan["model"].dump();
  EXPECT_EQ(plan["model"]["linears"]["encoder.layer.0.attention.output.dense"], (std::vector<int64_t>{128, 128}));

  // The case: bert-tiny's plan on MiniLM exited 0 with 18 Linears left f32.
  const std::string minilm = test::shared_dir() + "/models/minilm-l6-sst2";
  const RunResult other = run_squish("quantize" + common_args(minilm) + " --task sst2 --plan " +
                                     quote(dir + "/plan.json") + " --output_dir " + quote(dir + "/q_other"));
  EXPECT_EQ(other.exit_code, 2) << other.err;
  EXPECT_TRUE(contains(other.err, "was made for another model")) << other.err;
  EXPECT_TRUE(contains(other.err, "Linear 'encoder.layer.0.attention.self.qkv' is [384, 128] there, [1152, 384] here"))
      << other.err;
  EXPECT_FALSE(fs::exists(dir + "/q_other"));

  // A plan that says nothing of its model and leaves a Linear and the embeddings out: applied, with
  // a warning for each (a hand-written plan may mean it, but never silently).
  plan.erase("model");
  plan["linears"].erase("encoder.layer.1.output.dense");
  plan["embeddings"] = nullptr;
  std::ofstream(dir + "/partial.json") << plan.dump();
  const RunResult partial = run_squish("quantize" + common_args(tiny_model()) + " --task sst2 --plan " +
                                       quote(dir + "/partial.json") + " --output_dir " + quote(dir + "/q_partial"));
  ASSERT_EQ(partial.exit_code, 0) << partial.err;
  EXPECT_TRUE(contains(partial.err, "warning: " + dir + "/partial.json names no format for 1 encoder Linear "
                                    "(the first: 'encoder.layer.1.output.dense', which stays f32)"))
      << partial.err;
  EXPECT_TRUE(contains(partial.err, "names no format for the word embeddings")) << partial.err;

  // The plan as allocate wrote it, on its own model: no warning, and the stored bits per weight
  // allocate expected (the fp32 head counted) are what quantize stored.
  const RunResult own = run_squish("quantize" + common_args(tiny_model()) + " --task sst2 --plan " +
                                   quote(dir + "/plan.json") + " --output_dir " + quote(dir + "/q_own"));
  ASSERT_EQ(own.exit_code, 0) << own.err;
  EXPECT_FALSE(contains(own.err, "warning")) << own.err;
  const double expected_bits = nlohmann::json::parse(read_file(dir + "/plan.json"))["expected"]["average_stored_bits"];
  const double stored_bits =
      nlohmann::json::parse(read_file(dir + "/q_own/quantization.json"))["scheme"]["average_bits"];
  EXPECT_NEAR(expected_bits, stored_bits, 0.005);
  fs::remove_all(dir);
}

TEST(CliMisuse, ErrorsAreInSquishsWordsNotALibrarys) {
  const std::string dir = test::temp_dir("misuse");
  std::ofstream(dir + "/broken.json") << "{\"squish\": \"bit-plan\", \"linears\": {x}}";
  const RunResult plan = run_squish("quantize" + common_args(tiny_model()) + " --task sst2 --plan " +
                                    quote(dir + "/broken.json") + " --output_dir " + quote(dir + "/q"));
  const RunResult report = run_squish("report " + quote(dir + "/broken.json") + " --output " + quote(dir + "/r.html"));
  const RunResult tokens = run_squish("tokenize --model_dir " + quote(tiny_model()), "{\"text\": \n");
  const RunResult range = run_squish("quantize" + common_args(tiny_model()) + " --task sst2 --max_drop -1" +
                                     " --output_dir " + quote(dir + "/q"));
  const RunResult no_runs = run_squish("report --output " + quote(dir + "/r.html"));
  for (const RunResult* r : {&plan, &report, &tokens, &range, &no_runs}) {
    EXPECT_NE(r->exit_code, 0) << r->err;
    EXPECT_FALSE(contains(r->err, "json.exception")) << r->err;
    EXPECT_FALSE(contains(r->err, "is required")) << r->err;  // CLI11's own words
    EXPECT_FALSE(contains(r->err, "not in range")) << r->err;
  }
  EXPECT_TRUE(contains(plan.err, "broken.json: not valid JSON")) << plan.err;
  EXPECT_TRUE(contains(report.err, "line 1, column")) << report.err;
  EXPECT_TRUE(contains(range.err, "expected a number in [0, 100], found -1")) << range.err;
  EXPECT_TRUE(contains(no_runs.err, "give the run folders")) << no_runs.err;
  fs::remove_all(dir);
}

TEST(CliMisuse, AGroupThatDoesNotDivideAWidthNamesTheLinear) {
  const std::string dir = test::temp_dir("misuse");
  const nlohmann::json plan = {{"squish", "bit-plan"},
                               {"version", 2},
                               {"linears", {{"encoder.layer.0.output.dense", "int4-g48"}}},
                               {"embeddings", nullptr}};
  std::ofstream(dir + "/plan.json") << plan.dump();
  const RunResult r = run_squish("quantize" + common_args(tiny_model()) + " --task sst2 --plan " +
                                 quote(dir + "/plan.json") + " --output_dir " + quote(dir + "/q"));
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_TRUE(contains(r.err, "Linear 'encoder.layer.0.output.dense' [128, 512]: int4-g48's groups of 48 do not "
                              "divide its input width 512; choose a --group_size"))
      << r.err;
  EXPECT_FALSE(fs::exists(dir + "/q"));
  fs::remove_all(dir);
}

TEST(CliMisuse, UnmeasuredOutputErrorsAreAbsent) {
  const std::string dir = test::temp_dir("misuse");
  ASSERT_EQ(run_squish("quantize" + common_args(tiny_model()) + " --task sst2 --mode static --calib_size 16 " +
                       "--output_dir " + quote(dir + "/q"))
                .exit_code,
            0);
  const auto j = nlohmann::json::parse(read_file(dir + "/q/quantization.json"));
  for (const auto& layer : j["layers"]) EXPECT_FALSE(layer.contains("output_error")) << layer.dump();
  const RunResult report =
      run_squish("report " + quote(dir + "/q") + " --output " + quote(dir + "/report.html"));
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_TRUE(contains(read_file(dir + "/report.html"), "not measured"));
  fs::remove_all(dir);
}

TEST(CliMisuse, QuantizedModelsAreNeitherTrainedNorPruned) {
  const std::string dir = test::temp_dir("misuse");
  ASSERT_EQ(
      run_squish("quantize" + common_args(tiny_model()) + " --task sst2 --output_dir " + quote(dir + "/q")).exit_code,
      0);
  for (const std::string command : {"train --epochs 1", "prune --sparsity 0.5"}) {
    const RunResult r = run_squish(command + common_args(dir + "/q") + " --task sst2 --max_train_samples 16 " +
                                   "--output_dir " + quote(dir + "/out"));
    EXPECT_EQ(r.exit_code, 2) << command << "\n" << r.err;
    EXPECT_TRUE(contains(r.err, "already quantized by squish")) << r.err;
    EXPECT_FALSE(fs::exists(dir + "/out"));
  }
  fs::remove_all(dir);
}

// Starts squish with `args` (no shell, so the signal reaches squish itself), waits until its staging
// folder for `out` appears, sends `signal` and returns the exit code and stderr.
std::pair<int, std::string> interrupted_run(const std::vector<std::string>& args, const std::string& out, int signal) {
  const std::string err_file = out + ".err";
  const std::string binary = test::squish_binary();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDERR_FILENO);
    std::vector<char*> argv{const_cast<char*>(binary.c_str())};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  const std::string staging = out + ".tmp." + std::to_string(pid);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(staging) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_TRUE(fs::exists(staging)) << "squish never staged " << staging;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // into the work, files being written
  ::kill(pid, signal);
  int status = 0;
  ::waitpid(pid, &status, 0);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  const std::string err = read_file(err_file);
  fs::remove(err_file);
  return {code, err};
}

TEST(CliMisuse, InterruptsRemoveTheStagedOutputAndExitAsTheSignalSays) {
  const std::string dir = test::temp_dir("misuse");
  const std::vector<std::string> model = {"--model_dir", tiny_model(), "--task", "sst2", "--data_dir", data_dir(),
                                          "--threads", "1"};
  // Each command, sized to run for seconds on the tiny model (calib-ablation saves one model after another).
  const std::vector<std::pair<std::string, std::vector<std::string>>> runs = {
      {"calib-ablation", {"--calib_sizes", "200", "400", "800", "1600", "3200", "6400", "12800", "25600"}},
      {"quantize", {"--mode", "static", "--calib_size", "60000", "--observer", "entropy"}},
      {"sensitivity", {"--calib_size", "20000", "--max_length", "64"}},
      {"mixed-precision", {"--calib_size", "20000", "--max_length", "64"}},
      {"prune", {"--sparsity", "0.5", "--max_train_samples", "4000", "--max_eval_samples", "64"}},
  };
  for (const auto& [command, flags] : runs)
    for (const auto& [signal, code] : {std::pair{SIGINT, 130}, std::pair{SIGTERM, 143}}) {
      const std::string out = dir + "/" + command + std::to_string(signal);
      std::vector<std::string> args = {command, "--output_dir", out};
      args.insert(args.end(), model.begin(), model.end());
      args.insert(args.end(), flags.begin(), flags.end());
      const auto [exit_code, err] = interrupted_run(args, out, signal);
      EXPECT_EQ(exit_code, code) << command << "\n" << err;
      EXPECT_TRUE(contains(err, "squish: interrupted")) << command << "\n" << err;
      EXPECT_FALSE(fs::exists(out)) << command;
      EXPECT_TRUE(staging_left(out).empty()) << command << ": " << staging_left(out).front();
    }
  fs::remove_all(dir);
}

TEST(CliMisuse, AReportCountsEachDocumentOnceAndSaysWhatEachScoredOn) {
  const std::string dir = test::temp_dir("misuse");
  for (const char* n : {"16", "32"}) {
    fs::create_directories(dir + "/e" + n);
    ASSERT_EQ(run_squish("eval" + common_args(tiny_model()) + " --task sst2 --max_samples " + n + " --output " +
                         quote(dir + "/e" + n + "/e.json"))
                  .exit_code,
              0);
  }
  const RunResult r = run_squish("report " + quote(dir + "/e16") + " " + quote(dir + "/e16/e.json") + " " +
                                 quote(dir + "/e16/../e16") + " " + quote(dir + "/e32") + " --output " +
                                 quote(dir + "/r.html"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "(2 run documents")) << r.out;
  const std::string html = read_file(dir + "/r.html");
  EXPECT_TRUE(contains(html, "e16 (n=16)")) << "the chart's series name their example counts";
  EXPECT_TRUE(contains(html, "e32 (n=32)"));
  EXPECT_TRUE(contains(html, "scored on different numbers of examples"));
  fs::remove_all(dir);
}

TEST(CliMisuse, NoOutputReplacesAnInput) {
  const std::string dir = test::temp_dir("misuse");
  ASSERT_EQ(run_squish("sensitivity" + common_args(tiny_model()) + " --task sst2 --calib_size 16 --bits 4 8 " +
                       "--output_dir " + quote(dir + "/s"))
                .exit_code,
            0);
  const std::string sensitivity = dir + "/s/sensitivity.json";
  const std::string before = read_file(sensitivity);
  const RunResult a = run_squish("allocate --sensitivity " + quote(sensitivity) +
                                 " --allocation uniform --uniform_bits 8 " + "--output " + quote(sensitivity));
  EXPECT_EQ(a.exit_code, 2) << a.err;
  EXPECT_TRUE(contains(a.err, "--output " + sensitivity + ": that is the input")) << a.err;
  // Another spelling of the same file, and a run folder's document.
  const RunResult b =
      run_squish("allocate --sensitivity " + quote(sensitivity) + " --allocation uniform --uniform_bits 8 " +
                 "--output " + quote(dir + "/s/../s/sensitivity.json"));
  EXPECT_EQ(b.exit_code, 2) << b.err;
  const RunResult report = run_squish("report " + quote(dir + "/s") + " --output " + quote(sensitivity));
  EXPECT_EQ(report.exit_code, 2) << report.err;
  EXPECT_TRUE(contains(report.err, "a document of the input run")) << report.err;
  EXPECT_EQ(read_file(sensitivity), before);
  // glue-score's saved results.
  const std::string results = dir + "/e.json";
  ASSERT_EQ(run_squish("eval" + common_args(tiny_model()) + " --task sst2 --max_samples 16 --output " + quote(results))
                .exit_code,
            0);
  const std::string saved = read_file(results);
  const RunResult g = run_squish("glue-score --from_results " + quote(results) + " --output " + quote(results));
  EXPECT_EQ(g.exit_code, 2) << g.err;
  EXPECT_TRUE(contains(g.err, "that is the input")) << g.err;
  EXPECT_EQ(read_file(results), saved);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace squish
