// The HTML report's pieces on hand-made inputs: escaping (no string from a run reaches the page raw),
// the Pareto front, table cells, curve thinning, reading run folders with errors that name the file
// and field, and a whole page from a hand-written compare.json (docs/run_folder.md, squish.compare v1).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/file_util.h"
#include "report/chart_spec.h"
#include "report/html_page.h"
#include "report/html_report.h"
#include "report/pareto.h"
#include "report/run_documents.h"
#include "test_paths.h"

namespace squish {
namespace {

size_t count_of(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

TEST(HtmlReport, EscapesEveryMarkupCharacter) {
  EXPECT_EQ(html_escape("a<b>&\"c'd"), "a&lt;b&gt;&amp;&quot;c&#39;d");
  EXPECT_EQ(html_escape("plain \u00d7 text"), "plain \u00d7 text");  // UTF-8 passes through
}

TEST(HtmlReport, ScriptJsonCannotCloseItsElementAndParsesBack) {
  const nlohmann::json value = {{"label", "</script><script>alert(1)</script> & <!--"}};
  const std::string safe = script_safe_json(value);
  EXPECT_EQ(safe.find('<'), std::string::npos);
  EXPECT_EQ(safe.find('>'), std::string::npos);
  EXPECT_EQ(safe.find('&'), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(safe), value);
}

TEST(HtmlReport, ParetoFrontKeepsTheUndominatedPointsInOrderOfX) {
  // (compression, accuracy): 0 and 5 trade off; 2 is dominated by 0; 3 equals 1 and both stay;
  // 4 is dominated by 1; 6 has the largest compression.
  const std::vector<TradeoffPoint> points = {{1.0, 0.90}, {4.0, 0.85}, {1.0, 0.80}, {4.0, 0.85},
                                             {3.0, 0.84}, {0.5, 0.95}, {8.0, 0.60}};
  EXPECT_EQ(pareto_front(points), (std::vector<size_t>{5, 0, 1, 3, 6}));
  EXPECT_TRUE(pareto_front({}).empty());
  EXPECT_EQ(pareto_front({{2.0, 0.5}}), (std::vector<size_t>{0}));
}

TEST(HtmlReport, DisplaysScalarsForTables) {
  EXPECT_EQ(display_value(nlohmann::ordered_json(42)), "42");
  EXPECT_EQ(display_value(nlohmann::ordered_json(0.812345)), "0.8123");
  EXPECT_EQ(display_value(nlohmann::ordered_json(true)), "yes");
  EXPECT_EQ(display_value(nlohmann::ordered_json::array({1, 2})), "[1,2]");
  EXPECT_EQ(display_value(nlohmann::ordered_json(std::vector<int>(17, 0))), "[17 values]");
  EXPECT_EQ(display_value(nlohmann::ordered_json()), "");
}

TEST(HtmlReport, ThinsLongCurvesKeepingBothEnds) {
  XySeries s{"loss", {}, {}};
  for (int i = 0; i < 10; ++i) {
    s.x.push_back(i);
    s.y.push_back(10.0 * i);
  }
  const XySeries t = thin_series(s, 4);
  EXPECT_EQ(t.x, (std::vector<double>{0, 3, 6, 9}));
  EXPECT_EQ(t.y, (std::vector<double>{0, 30, 60, 90}));
  EXPECT_EQ(thin_series(s, 20).x.size(), 10u);
}

TEST(HtmlReport, ChartsCarryAxisTitlesAndRefuseRaggedSeries) {
  const nlohmann::json c = xy_chart({"step"}, {"loss (nats)"}, {{"train", {1, 2}, {0.5, 0.4}}});
  EXPECT_EQ(c["options"]["scales"]["x"]["title"]["text"], "step");
  EXPECT_EQ(c["options"]["scales"]["y"]["title"]["text"], "loss (nats)");
  EXPECT_EQ(c["data"]["datasets"][0]["data"][1]["y"], 0.4);
  EXPECT_THROW(xy_chart({"x"}, {"y"}, {{"bad", {1, 2}, {0.5}}}), ShapeError);
  EXPECT_THROW(bar_chart({"a", "b"}, {"x"}, {"y"}, {{"bad", {1}}}), ShapeError);
  // A constant series gets a narrow band instead of Chart.js's -0.5..2.
  const nlohmann::json flat = xy_chart({"x"}, {"y"}, {{"flat", {1, 2}, {0.8, 0.8}}});
  EXPECT_NEAR(flat["options"]["scales"]["y"]["min"].get<double>(), 0.784, 1e-12);
  EXPECT_NEAR(flat["options"]["scales"]["y"]["max"].get<double>(), 0.816, 1e-12);
}

TEST(HtmlReport, ReadingRunFoldersNamesWhatIsWrong) {
  const std::string dir = test::temp_dir("report-read");
  EXPECT_THROW(read_run_documents({dir + "/missing"}), IoError);
  write_file_atomic(dir + "/config.json", "{\"model_type\": \"bert\"}");
  try {
    read_run_documents({dir});
    FAIL() << "a folder without squish JSON was accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("no squish run JSON"), std::string::npos) << e.what();
  }
  write_file_atomic(dir + "/broken.json", "{\"schema\": ");
  EXPECT_THROW(read_run_documents({dir}), FormatError);
  std::filesystem::remove(dir + "/broken.json");
  // A document without what its schema promises: the error names the file and the field.
  write_file_atomic(dir + "/results.json", "{\"schema\": \"squish.mixed_precision\", \"request\": {\"task\": \"sst2\"}}");
  const std::vector<RunDocument> docs = read_run_documents({dir});
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].kind, "mixed_precision");
  try {
    html_report(docs, "t");
    FAIL() << "an incomplete document made a page";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/results.json: no /fp32/"), std::string::npos) << e.what();
  }
}

TEST(HtmlReport, ComparePageShowsTheErrorAnalysisWithEveryStringEscaped) {
  const std::vector<RunDocument> docs = read_run_documents({test::fixtures_dir() + "/report/compare.json"});
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].run, "compare");
  const HtmlReport report = html_report(docs, "A <title>");
  const std::string& html = report.html;
  // Two confidence histograms and the P(class 1) scatter.
  EXPECT_EQ(report.charts, 3u);
  EXPECT_EQ(count_of(html, "<canvas data-chart="), 3u);
  EXPECT_NE(html.find("<title>A &lt;title&gt;</title>"), std::string::npos);
  // Strings from the run never arrive as markup: only the page's own three <script> elements exist.
  EXPECT_EQ(count_of(html, "<script"), 3u);
  EXPECT_EQ(html.find("<b>bold"), std::string::npos);
  EXPECT_EQ(html.find("<i>fine"), std::string::npos);
  EXPECT_NE(html.find("a &lt;i&gt;fine&lt;/i&gt; film"), std::string::npos);
  // The agreement matrix, the breakdown and an undefined statistic (null) shown as a dash.
  EXPECT_NE(html.find(">3</td></tr>"), std::string::npos);
  EXPECT_NE(html.find("Agreement matrix (agreement 83.33%, 1 flips)"), std::string::npos);
  EXPECT_NE(html.find("<td>gold negative</td><td class=\"num\">1</td><td class=\"num\">1</td>"), std::string::npos);
  EXPECT_NE(html.find("<tr><td>Spearman \u03c1 of P(class 1)</td><td>\u2014</td></tr>"), std::string::npos);
  // The scatter draws the flip apart from the agreeing examples.
  const size_t data = html.find("id=\"squish-chart-data\">");
  ASSERT_NE(data, std::string::npos);
  const size_t end = html.find("</script>", data);
  const nlohmann::json charts = nlohmann::json::parse(html.substr(data + 23, end - data - 23));
  const nlohmann::json& scatter = charts[2]["data"]["datasets"];
  EXPECT_EQ(scatter[0]["label"], "same prediction");
  EXPECT_EQ(scatter[0]["data"].size(), 5u);
  EXPECT_EQ(scatter[1]["label"], "flipped");
  ASSERT_EQ(scatter[1]["data"].size(), 1u);
  EXPECT_EQ(scatter[1]["data"][0]["x"], 0.39);
  EXPECT_EQ(scatter[1]["data"][0]["y"], 0.55);
  // The reference histogram: correct and wrong counts per bin.
  EXPECT_EQ(charts[0]["data"]["datasets"][0]["data"], nlohmann::json({1, 3}));
  EXPECT_EQ(charts[0]["data"]["datasets"][1]["data"], nlohmann::json({1, 1}));
  EXPECT_EQ(charts[0]["data"]["labels"], nlohmann::json({"0.50\u20130.75", "0.75\u20131.00"}));
}

}  // namespace
}  // namespace squish
