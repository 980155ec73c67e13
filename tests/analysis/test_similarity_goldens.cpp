// SVCCA, PWCCA and linear CKA against tools/cca_reference.py (numpy, from the published algorithms and
// google/svcca's regularisation), whose goldens and matrices are in tests/fixtures/analysis. The
// reference takes other routes (SVD of the sample matrices, QR of the canonical variates in sample
// space, samples x samples Gram matrices for CKA), so agreement checks the covariance shortcuts too.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analysis/similarity.h"
#include "core/dtype.h"
#include "core/file_util.h"
#include "test_paths.h"

namespace squish {
namespace {

constexpr double kTolerance = 1e-4;

std::string fixture_dir() { return test::fixtures_dir() + "/analysis"; }

nlohmann::json read_goldens() {
  std::ifstream in(fixture_dir() + "/goldens.json");
  return nlohmann::json::parse(in);
}

// Half-precision files: the reference computed on exactly these values, widened.
std::vector<float> read_f16_matrix(const std::string& file, int64_t rows, int64_t cols) {
  const std::string bytes = read_maybe_gzip(fixture_dir() + "/" + file);
  const size_t count = static_cast<size_t>(rows * cols);
  EXPECT_EQ(bytes.size(), count * sizeof(uint16_t)) << file;
  std::vector<float> values(count);
  convert_to_f32(values.data(), bytes.data(), DType::kF16, std::min(count, bytes.size() / sizeof(uint16_t)));
  return values;
}

void expect_matches_golden(const std::string& name, const nlohmann::json& golden) {
  SCOPED_TRACE(name);
  const int64_t rows = golden["rows"], x_cols = golden["x_cols"], y_cols = golden["y_cols"];
  const std::vector<float> x_values = read_f16_matrix(golden["x_file"], rows, x_cols);
  const std::vector<float> y_values = read_f16_matrix(golden["y_file"], rows, y_cols);
  const ActivationMatrix x{x_values.data(), rows, x_cols}, y{y_values.data(), rows, y_cols};

  const CcaSimilarity pw = pwcca(x, y);
  const std::vector<double> correlations = golden["correlations"], weights = golden["pwcca_weights"];
  ASSERT_EQ(pw.correlations.size(), correlations.size());
  ASSERT_EQ(pw.weights.size(), weights.size());
  for (size_t i = 0; i < correlations.size(); ++i) {
    EXPECT_NEAR(pw.correlations[i], correlations[i], kTolerance) << "correlation " << i;
    EXPECT_NEAR(pw.weights[i], weights[i], kTolerance) << "weight " << i;
  }
  EXPECT_NEAR(pw.similarity, golden["pwcca"].get<double>(), kTolerance);
  for (const auto& [topk, expected] : golden["svcca"].items())
    EXPECT_NEAR(svcca_similarity(x, y, std::stoi(topk)), expected.get<double>(), kTolerance) << "topk " << topk;
  EXPECT_NEAR(linear_cka_similarity(x, y), golden["linear_cka"].get<double>(), kTolerance);
}

TEST(SimilarityGoldens, RecordTheReferenceVersions) {
  const nlohmann::json goldens = read_goldens();
  for (const char* library : {"numpy", "torch", "transformers"})
    EXPECT_FALSE(goldens["versions"][library].get<std::string>().empty()) << library;
  EXPECT_EQ(goldens["epsilon"].get<double>(), 1e-10);  // analysis/cca.h's kCcaEpsilon
}

TEST(SimilarityGoldens, MatchTheNumpyReferenceOnRandomMatrices) {
  const nlohmann::json goldens = read_goldens();
  int cases = 0;
  for (const auto& [name, golden] : goldens["cases"].items()) {
    if (name.starts_with("minilm")) continue;
    expect_matches_golden(name, golden);
    ++cases;
  }
  EXPECT_EQ(cases, 5);
}

TEST(SimilarityGoldens, MatchTheNumpyReferenceOnMiniLmHiddenStates) {
  const nlohmann::json goldens = read_goldens();
  const nlohmann::json& golden = goldens["cases"]["minilm_sst2_layers_3_4"];
  ASSERT_TRUE(golden.is_object());
  EXPECT_EQ(golden["x_cols"].get<int64_t>(), 384);
  EXPECT_GE(golden["rows"].get<int64_t>(), 384);
  expect_matches_golden("minilm_sst2_layers_3_4", golden);
}

// The degenerate case's constant features are dropped on both sides, as the reference drops them.
TEST(SimilarityGoldens, DropConstantFeaturesAsTheReferenceDoes) {
  const nlohmann::json golden = read_goldens()["cases"]["degenerate_features"];
  const int64_t rows = golden["rows"], x_cols = golden["x_cols"], y_cols = golden["y_cols"];
  const std::vector<float> x_values = read_f16_matrix(golden["x_file"], rows, x_cols);
  const std::vector<float> y_values = read_f16_matrix(golden["y_file"], rows, y_cols);
  const CcaSimilarity pw = pwcca({x_values.data(), rows, x_cols}, {y_values.data(), rows, y_cols});
  EXPECT_EQ(pw.kept_x, x_cols - 1);
  EXPECT_EQ(pw.kept_y, y_cols - 1);
  EXPECT_EQ(pw.correlations.size(), golden["correlations"].size());
}

}  // namespace
}  // namespace squish
