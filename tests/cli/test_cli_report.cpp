// squish report end to end: run folders made here with the real tiny model (mixed-precision,
// calib-ablation, prune, train, eval) plus a hand-written compare.json become one page, which
// tools/check_report.py opens in headless Chromium: no console error, no request, every chart drew;
// and --report on a run-writing command.
// The check itself is shown to fail on a chart broken on purpose and on a page that reaches the network.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include <fmt/format.h>
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

RunResult run_check(const std::string& page, const std::string& out_dir, const std::string& extra = "") {
  const std::string dir = test::temp_dir("check");
  const std::string script = test::fixtures_dir() + "/../../tools/check_report.py";
  const std::string cmd = "python3 " + quote(script) + " " + quote(page) + " " + quote(out_dir) + " " + extra + " > " +
                          quote(dir + "/out") + " 2> " + quote(dir + "/err");
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), read_file(dir + "/out"),
          read_file(dir + "/err")};
}

void squish_ok(const std::string& args) {
  const RunResult r = run_squish(args);
  ASSERT_EQ(r.exit_code, 0) << args << "\n" << r.err;
}

TEST(CliReport, RefusesMissingAndForeignRunFolders) {
  const RunResult none = run_squish("report");
  EXPECT_EQ(none.exit_code, 2) << none.err;
  const RunResult missing = run_squish("report /nonexistent/run --output /dev/null");
  EXPECT_EQ(missing.exit_code, 3) << missing.err;
  EXPECT_NE(missing.err.find("/nonexistent/run: no such run folder"), std::string::npos) << missing.err;
  const RunResult no_json = run_squish("eval --model_dir " + quote(tiny_model()) + " --task sst2 --report");
  EXPECT_EQ(no_json.exit_code, 2) << no_json.err;
  EXPECT_NE(no_json.err.find("--report needs --output FILE.json"), std::string::npos) << no_json.err;
  // A model directory is not a run folder: its config.json has no squish schema.
  const RunResult model = run_squish("report " + quote(tiny_model()) + " --output /dev/null");
  EXPECT_NE(model.exit_code, 0);
  EXPECT_NE(model.err.find("no squish run JSON"), std::string::npos) << model.err;
}

TEST(CliReport, PageFromTinyRunsDrawsEveryChartOfflineInHeadlessChromium) {
  ASSERT_EQ(std::system("command -v chromium > /dev/null 2>&1"), 0) << "chromium not installed: run tools/setup.sh";
  const std::string root = test::temp_dir("report"), m = quote(tiny_model()), d = quote(data_dir());
  const std::string common = " --task sst2 --data_dir " + d + " --max_length 64";
  squish_ok("mixed-precision --model_dir " + m + common + " --calib_size 64 --max_samples 96 --max_tokens 600" +
            " --allocation budget --target_compression 6 --output_dir " + quote(root + "/mixed"));
  const RunResult ablation = run_squish("calib-ablation --model_dir " + m + common +
                                        " --calib_sizes 16 32 --observers minmax percentile --report --output_dir " +
                                        quote(root + "/ablation"));
  ASSERT_EQ(ablation.exit_code, 0) << ablation.err;
  // --report: the run's own page beside its JSON (summary trade-off 2; curves, metric and throughput bars 3).
  EXPECT_NE(ablation.out.find("wrote " + root + "/ablation/report.html (5 charts)"), std::string::npos) << ablation.out;
  EXPECT_NE(read_file(root + "/ablation/report.html").find("ablation \u2014 calib_ablation"), std::string::npos);
  squish_ok("prune --model_dir " + m + common + " --method imp --sparsity 0.5 --num_rounds 2 --max_steps 10" +
            " --max_train_samples 320 --max_eval_samples 96 --output_dir " + quote(root + "/prune"));
  squish_ok("train --model_dir " + m + common + " --epochs 1 --max_steps 20 --eval_steps 10 --max_train_samples 640" +
            " --max_eval_samples 96 --output_dir " + quote(root + "/train"));
  squish_ok("eval --model_dir " + m + common + " --max_samples 96 --output " + quote(root + "/eval.json"));

  const std::string page = root + "/report.html";
  const RunResult report = run_squish("report " + quote(root + "/mixed") + " " + quote(root + "/ablation") + " " +
                                      quote(root + "/prune") + " " + quote(root + "/train") + " " +
                                      quote(root + "/eval.json") + " " +
                                      quote(test::fixtures_dir() + "/report/compare.json") + " --output " + quote(page));
  ASSERT_EQ(report.exit_code, 0) << report.err;
  std::smatch counts;
  ASSERT_TRUE(std::regex_search(report.out, counts, std::regex(R"(\((\d+) run documents, (\d+) charts\))"))) << report.out;
  EXPECT_EQ(counts[1], "8");  // results, plan, sensitivity; ablation; pruning; training; eval; compare
  const int charts = std::stoi(counts[2]);
  // Summary 2; mixed precision 2 + plan 2 + sensitivity 1; ablation 3; pruning 3; training 4; compare 3.
  EXPECT_EQ(charts, 20);
  const std::string html = read_file(page);
  EXPECT_EQ(html.find("http://"), std::string::npos);  // nothing to fetch: Chart.js is inline
  EXPECT_NE(html.find("Chart.js v3"), std::string::npos);

  const std::string shots = root + "/shots";
  const RunResult check = run_check(page, shots, "--expect-charts " + std::to_string(charts));
  ASSERT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find(fmt::format("{}/{} charts drew", charts, charts)), std::string::npos) << check.out;
  for (const char* f : {"report-top.png", "report-full.png", "report.pdf", "section-summary.png"})
    EXPECT_GT(fs::file_size(shots + "/" + f), 10000u) << f;

  // A chart Chart.js cannot build (an unknown type) must fail the check, naming that chart.
  std::string broken = html;
  const size_t type = broken.find("\"type\":\"bar\"");
  ASSERT_NE(type, std::string::npos);
  broken.replace(type, 12, "\"type\":\"no-such-chart\"");
  write_file_atomic(root + "/broken.html", broken);
  const RunResult broken_check = run_check(root + "/broken.html", root + "/broken-shots");
  EXPECT_EQ(broken_check.exit_code, 1) << broken_check.out << broken_check.err;
  EXPECT_NE(broken_check.err.find("did not draw"), std::string::npos) << broken_check.err;
  EXPECT_NE(broken_check.err.find("console error"), std::string::npos) << broken_check.err;

  // A chart with no data points draws its axes only: that is not a chart that drew.
  const size_t begin = html.find("id=\"squish-chart-data\">") + 23, end = html.find("</script>", begin);
  nlohmann::json specs = nlohmann::json::parse(html.substr(begin, end - begin));
  for (auto& dataset : specs[0]["data"]["datasets"]) dataset["data"] = nlohmann::json::array();
  std::string specs_text = specs.dump();
  for (size_t at = specs_text.find('<'); at != std::string::npos; at = specs_text.find('<', at)) specs_text.replace(at, 1, "\\u003c");
  write_file_atomic(root + "/empty.html", html.substr(0, begin) + specs_text + html.substr(end));
  const RunResult empty_check = run_check(root + "/empty.html", root + "/empty-shots");
  EXPECT_EQ(empty_check.exit_code, 1) << empty_check.out << empty_check.err;
  EXPECT_NE(empty_check.err.find("chart 0 ("), std::string::npos) << empty_check.err;
  EXPECT_NE(empty_check.err.find("did not draw"), std::string::npos) << empty_check.err;

  // A page that reaches for the network fails too, even though nothing answers offline.
  std::string online = html;
  online.replace(online.find("</main>"), 7, "<img src=\"http://example.invalid/x.png\"></main>");
  write_file_atomic(root + "/online.html", online);
  const RunResult online_check = run_check(root + "/online.html", root + "/online-shots");
  EXPECT_EQ(online_check.exit_code, 1) << online_check.out << online_check.err;
  EXPECT_NE(online_check.err.find("example.invalid"), std::string::npos) << online_check.err;
}

}  // namespace
}  // namespace squish
