// A saved model means one computation on every ISA (docs/quantization.md, "One meaning per file"):
// every classifier in shared/models, as saved fp32, static W8A8 (full and reduced range, which AVX2
// runs on different kernels), dynamic int8 and a mixed plan that uses every weight format, scored by `squish eval` on this machine's best ISA and again on the
// AVX2 path (SQUISH_ISA=avx2 DNNL_MAX_CPU_ISA=AVX2, what an AVX2-only machine runs); on a machine
// without AVX-512, against the scalar path instead.
//
// The tolerance, derived as in tests/model/test_static_golden.cpp: both ISAs compute the same
// quantized network, but their fp32 sums run in different orders (8 or 16 lanes, oneDNN's blocking
// per ISA), leaving ~1e-6 relative differences in every activation. An activation within that
// distance of a rounding boundary of its u8 grid lands on neighbouring codes: a one-step flip that
// moves a logit by ~1e-3 before the layers above amplify it. So most logits agree to ~1e-6 and a
// tail may differ by more (a flip that lands early in a long MRPC pair can move its logits by ~1:
// measured max 1.1 for one of 96 examples on the 7-bit static grid), while a kernel that computes
// another function (the AVX2 path re-gridding activations onto 128 steps did) moves every example
// by about as much as quantization itself: median |fp32 − int8| 0.016–0.04 on these models. So the
// test bounds the bulk, not the rarest example:
//   fp32 files:      max |Δ| < 1e-3 (no grid, only summation order);
//   quantized files: median |Δ| < 0.2 × median |fp32 − quantized|, 90th percentile |Δ| < 0.5 × the
//                    90th percentile of |fp32 − quantized|;
//   predictions:     identical, except where the example's top two logits are within its own |Δ|
//                    (a tie at fp32 rounding), and those at most 2%.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "core/file_util.h"
#include "kernels/cpu_features.h"
#include "model/real_models.h"
#include "test_paths.h"

namespace squish {
namespace {

using test::quote;
using test::run_squish;
using test::RunResult;

constexpr int kExamples = 96;
constexpr double kFp32MaxDelta = 1e-3, kMedianShare = 0.2, kTailShare = 0.5, kTiesAllowed = 0.02;

struct Scored {
  std::vector<std::vector<double>> logits;
  std::vector<int> predictions;
};

// The ISA the comparison runs against this machine's own: AVX2 where the CPU has more.
bool other_is_avx2() { return cpu_features().avx512f && cpu_features().avx512bw && cpu_features().avx512vl; }

std::string task_of(const std::string& model) { return model.find("mrpc") != std::string::npos ? "mrpc" : "sst2"; }

// `squish eval --predictions` of a model directory, on this machine's ISA or on the other one.
Scored score(const std::string& model_dir, const std::string& task, bool other_isa) {
  const std::string predictions = test::temp_dir("cross_isa") + "/p.jsonl";
  if (other_isa) {
    setenv("SQUISH_ISA", other_is_avx2() ? "avx2" : "scalar", 1);
    setenv("DNNL_MAX_CPU_ISA", other_is_avx2() ? "AVX2" : "SSE41", 1);
  }
  const RunResult r = run_squish("eval --model_dir " + quote(model_dir) + " --task " + task + " --data_dir " +
                                 quote(test::data_dir()) + " --max_length 128 --max_samples " +
                                 std::to_string(kExamples) + " --predictions " + quote(predictions));
  unsetenv("SQUISH_ISA");
  unsetenv("DNNL_MAX_CPU_ISA");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Scored s;
  std::istringstream lines(read_file(predictions));
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);
    s.logits.push_back(j["logits"].get<std::vector<double>>());
    s.predictions.push_back(j["pred"].get<int>());
  }
  EXPECT_EQ(s.logits.size(), static_cast<size_t>(kExamples));
  return s;
}

// Per example the largest |a − b| over its logits.
std::vector<double> deltas(const Scored& a, const Scored& b) {
  std::vector<double> out;
  for (size_t i = 0; i < a.logits.size() && i < b.logits.size(); ++i) {
    double worst = 0;
    for (size_t c = 0; c < a.logits[i].size(); ++c) worst = std::max(worst, std::fabs(a.logits[i][c] - b.logits[i][c]));
    out.push_back(worst);
  }
  return out;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}
double median(const std::vector<double>& v) { return percentile(v, 0.5); }
double max_of(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()); }

double margin(const std::vector<double>& logits) {
  std::vector<double> sorted = logits;
  std::sort(sorted.rbegin(), sorted.rend());
  return sorted.size() < 2 ? 0.0 : sorted[0] - sorted[1];
}

// Predictions equal except at ties within the example's own |Δ|, and those few.
void expect_same_predictions(const Scored& here, const Scored& other, const std::string& what) {
  const std::vector<double> d = deltas(here, other);
  int ties = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    if (here.predictions[i] == other.predictions[i]) continue;
    EXPECT_LE(std::min(margin(here.logits[i]), margin(other.logits[i])), d[i])
        << what << ": example " << i << " changed its prediction by more than a tie";
    ++ties;
  }
  EXPECT_LE(ties, kTiesAllowed * static_cast<double>(d.size())) << what;
}

// A plan that puts every weight format on the encoder's Linears in turn, and 4-bit groups on the
// word embeddings (the README's plan uses int4 and int8; this one adds int2 and fp16).
std::string mixed_plan(const std::string& model_dir, const std::string& dir) {
  const RunResult inspect = run_squish("inspect --model_dir " + quote(model_dir) + " --json");
  EXPECT_EQ(inspect.exit_code, 0) << inspect.err;
  const auto info = nlohmann::json::parse(inspect.out);
  const char* formats[] = {"int4-g64", "int8-dynamic", "int2-g64", "f16"};
  nlohmann::json linears = nlohmann::json::object();
  int i = 0;
  for (const auto& l : info["linears"]) {
    const std::string name = l["name"];
    if (name.rfind("encoder.", 0) == 0) linears[name] = formats[i++ % 4];
  }
  const std::string path = dir + "/plan.json";
  std::ofstream(path) << nlohmann::json{{"squish", "bit-plan"}, {"version", 1}, {"linears", linears},
                                        {"embeddings", "int4-g64"}}
                             .dump();
  return path;
}

class CrossIsaRealModel : public ::testing::TestWithParam<std::string> {};

TEST_P(CrossIsaRealModel, EverySavedFormatComputesTheSameOnTheAvx2Path) {
  const std::string name = GetParam(), model_dir = test::model_dir(name), task = task_of(name);
  const std::string dir = test::temp_dir("cross_isa_models");
  const std::string common = " --task " + task + " --data_dir " + quote(test::data_dir()) + " --max_length 128";
  struct Variant {
    std::string label, args;
  };
  const std::vector<Variant> variants = {
      {"static", "--mode static --calib_size 100 --seed 42"},
      {"static-reduced-range", "--mode static --calib_size 100 --seed 42 --reduce_range"},
      {"dynamic", "--mode dynamic"},
      {"mixed", "--plan " + quote(mixed_plan(model_dir, dir))},
  };

  const Scored fp32 = score(model_dir, task, false), fp32_other = score(model_dir, task, true);
  EXPECT_LT(max_of(deltas(fp32, fp32_other)), kFp32MaxDelta) << name << " fp32";
  expect_same_predictions(fp32, fp32_other, name + " fp32");

  for (const Variant& v : variants) {
    const std::string out = dir + "/" + v.label;
    const RunResult q = run_squish("quantize --model_dir " + quote(model_dir) + " --output_dir " + quote(out) + common +
                                   " " + v.args);
    ASSERT_EQ(q.exit_code, 0) << v.label << ": " << q.err;
    const Scored here = score(out, task, false), other = score(out, task, true);
    const std::vector<double> across = deltas(here, other), quantization = deltas(fp32, here);
    const std::string what = name + " " + v.label;
    EXPECT_LT(median(across), kMedianShare * median(quantization)) << what;
    EXPECT_LT(percentile(across, 0.9), kTailShare * percentile(quantization, 0.9)) << what;
    expect_same_predictions(here, other, what);
    std::printf("%s: |here - other| median %.3g p90 %.3g max %.3g; |fp32 - here| median %.3g p90 %.3g max %.3g\n",
                what.c_str(), median(across), percentile(across, 0.9), max_of(across), median(quantization),
                percentile(quantization, 0.9), max_of(quantization));
  }
}

INSTANTIATE_TEST_SUITE_P(Shared, CrossIsaRealModel, ::testing::ValuesIn(test::classifier_models()),
                         test::model_param_name);

}  // namespace
}  // namespace squish
