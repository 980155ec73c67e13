// AWQ's scale search against tests/fixtures/awq (tools/awq_reference.py, the paper's search in
// PyTorch on squish's group grid): every α's error and the choice on random matrices with outlier
// channels and on layer 0's q|k|v of SmolLM2 (with GPTQ at 3 bits on the same layer), and the
// clipping search's codes and ranges on the random matrices. On tiny Llama and
// OPT checkpoints: every activation a quantized reader sees is searched, the chosen scales never do
// worse than round-to-nearest on the search's own objective (α = 0 is RTN), folding them in leaves the
// fp32 model's log-probabilities unchanged, and the objective it reports is the output error of the
// quantized readers recomputed independently.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "common/token_batches.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/file_util.h"
#include "model/common/linear_formats.h"
#include "model/load_model.h"
#include "quant/awq.h"
#include "quant/bit_plan.h"
#include "quant/channel_scales.h"
#include "quant/gptq.h"
#include "quant/hessian.h"
#include "quant/linear_inputs.h"
#include "test_paths.h"

namespace squish {
namespace {

std::string awq_dir() { return test::fixtures_dir() + "/awq"; }
const nlohmann::json& awq_golden() {
  static const nlohmann::json golden = nlohmann::json::parse(read_file(awq_dir() + "/golden.json"));
  return golden;
}

Tensor read_f16(const std::string& file, int64_t rows, int64_t cols) {
  const std::string bytes = read_file(awq_dir() + "/" + file);
  EXPECT_EQ(bytes.size(), static_cast<size_t>(rows * cols * 2)) << file;
  Tensor t({rows, cols});
  for (int64_t i = 0; i < rows * cols; ++i)
    t.data()[i] = half_to_float(
        static_cast<uint16_t>(static_cast<uint8_t>(bytes[2 * i]) | static_cast<uint8_t>(bytes[2 * i + 1]) << 8));
  return t;
}

// The reference's errors are float64 over fp32 weights; squish's outputs are fp32 GEMMs summed in
// double, and the error is a small difference of large outputs: 1e-4 relative, measured 2e-6.
void expect_search_as_golden(const AwqSearch& search, const nlohmann::json& golden) {
  ASSERT_EQ(search.errors.size(), golden["errors"].size());
  double worst = 0;
  for (size_t g = 0; g < search.errors.size(); ++g) {
    const double want = golden["errors"][g].get<double>();
    EXPECT_NEAR(search.errors[g], want, 1e-4 * want) << "alpha " << g;
    worst = std::max(worst, std::fabs(search.errors[g] - want) / want);
  }
  testing::Test::RecordProperty("worst_relative_error", std::to_string(worst));
  EXPECT_DOUBLE_EQ(search.alpha, golden["alpha"].get<double>());
}

const std::vector<std::vector<int32_t>> kSequences = {
    {1, 5, 9, 13, 17, 21, 2, 40, 41, 42, 43}, {1, 6, 10, 2}, {3, 7, 11, 40, 41, 42, 43, 44, 45, 99, 100, 101}};

BitPlan int4_plan(SequenceModel& model) {
  BitPlan plan;
  for (const Linear* l : model.linears()) plan.linears[l->name] = "int4-g16";
  return plan;
}

TEST(AwqReference, RandomMatricesWithOutlierChannelsSearchAsThePaper) {
  const nlohmann::json& g = awq_golden()["random"];
  const int64_t rows = g["rows"], k = g["k"];
  const Tensor x = read_f16("x.f16", rows, k);
  std::vector<Linear> linears;
  std::vector<WeightFormat> formats;
  for (const auto& reader : g["readers"]) {
    linears.push_back(
        make_linear(reader["file"], LinearRole::kAttentionQkv, 0, read_f16(reader["file"], reader["n"], k), Tensor()));
    formats.push_back(parse_weight_format(reader["format"].get<std::string>(), "awq golden"));
  }
  const AwqSearch search = awq_search(x.data(), rows, {&linears[0], &linears[1]}, formats);
  expect_search_as_golden(search, g);
  EXPECT_GT(search.alpha, 0.0);                     // the outliers make scaling pay
  EXPECT_LT(search.error, 0.1 * search.errors[0]);  // measured 0.0018 against RTN's 0.0246
  ASSERT_EQ(search.scales.size(), static_cast<size_t>(k));
  for (int64_t j = 0; j < k; ++j) EXPECT_FLOAT_EQ(search.scales[j], g["scales"][j].get<float>()) << j;
}

// The clipping search on the same matrices (unscaled): every code, scale and minimum the reference's,
// and its output error, which the clipped ranges cut about 6-fold from min/max's (234.5 against
// 1485.1 for int4-g64, 565.3 against 2848.0 for int3-g32).
TEST(AwqReference, ClippingSearchChoosesTheReferencesRanges) {
  const nlohmann::json& g = awq_golden()["random"];
  const int64_t rows = g["rows"], k = g["k"];
  const Tensor x = read_f16("x.f16", rows, k);
  for (const auto& reader : g["readers"]) {
    const std::string file = reader["file"];
    SCOPED_TRACE(file);
    const nlohmann::json& want = awq_golden()["clip"][file];
    const int64_t n = reader["n"];
    const WeightFormat f = parse_weight_format(reader["format"].get<std::string>(), "awq golden");
    const Tensor w = read_f16(file, n, k);
    std::vector<double> grams(static_cast<size_t>(k * f.group_size), 0.0);
    for (int64_t t = 0; t < rows; ++t)
      for (int64_t c = 0; c < k / f.group_size; ++c)
        for (int64_t i = 0; i < f.group_size; ++i)
          for (int64_t j = 0; j < f.group_size; ++j)
            grams[static_cast<size_t>((c * f.group_size + i) * f.group_size + j)] +=
                static_cast<double>(x.data()[t * k + c * f.group_size + i]) * x.data()[t * k + c * f.group_size + j];
    AwqClipCount count;
    const GroupQuantized q = awq_clip_quantize(w.data(), n, k, f.traits->weight_bits, f.group_size, grams, &count);
    EXPECT_EQ(q.codes, want["codes"].get<std::vector<uint8_t>>());
    EXPECT_EQ(q.scales, want["scales"].get<std::vector<float>>());
    EXPECT_EQ(q.minimums, want["minimums"].get<std::vector<float>>());
    EXPECT_EQ(count.groups, n * (k / f.group_size));
    EXPECT_GT(count.clipped, count.groups / 2);
    // What the search minimises: each group's own output error, summed; the reference's, and well under
    // min/max's.
    const auto group_error = [&](const GroupQuantized& quantized) {
      std::vector<float> effective(static_cast<size_t>(n * k));
      dequantize_groups(quantized, effective.data());
      double sum = 0;
      for (int64_t t = 0; t < rows; ++t)
        for (int64_t r = 0; r < n; ++r)
          for (int64_t c = 0; c < k / f.group_size; ++c) {
            double y = 0;
            for (int64_t i = c * f.group_size; i < (c + 1) * f.group_size; ++i)
              y += static_cast<double>(x.data()[t * k + i]) *
                   (static_cast<double>(w.data()[r * k + i]) - effective[static_cast<size_t>(r * k + i)]);
            sum += y * y;
          }
      return sum;
    };
    EXPECT_NEAR(group_error(q), want["error"].get<double>(), 1e-9 * want["error"].get<double>());
    const double rtn = group_error(quantize_groups_rtn(w.data(), n, k, f.traits->weight_bits, f.group_size));
    EXPECT_NEAR(rtn, want["rtn_error"].get<double>(), 1e-9 * rtn);
    EXPECT_LT(group_error(q), 0.25 * rtn);
  }
  const std::vector<double> short_grams(10);
  try {
    awq_clip_quantize(read_f16("w_a.f16", 64, k).data(), 64, k, 4, 64, short_grams);
    ADD_FAILURE() << "Gram blocks of the wrong size were taken";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("10 Gram entries for 2 groups of 64"), std::string::npos) << e.what();
  }
}

// Layer 0's q|k|v of SmolLM2 on its own input for four IMDB train reviews, as the reference saw them
// through transformers: AWQ at 4 and 3 bits, and GPTQ at 3 bits (its first 32 rows' codes, its loss).
TEST(AwqReferenceRealModel, SmolLm2FirstLayerSearchAndThreeBitGptqAsTheReference) {
  const nlohmann::json& g = awq_golden()["smollm2"];
  auto model = load_model(test::smollm2_gguf());
  std::vector<std::vector<int32_t>> ids;
  for (const auto& sequence : g["ids"]) ids.push_back(sequence.get<std::vector<int32_t>>());
  std::vector<LogprobTarget> targets;
  const TokenBatch batch = test::next_token_batch(ids, 0, targets);
  const Linear* qkv = nullptr;
  std::vector<float> x;
  observe_linear_inputs(
      *model, {&batch, 1}, [&](const Linear& l) { return l.name == g["linear"]; },
      [&](const Linear& l, const float* rows, int64_t count) {
        qkv = &l;
        x.insert(x.end(), rows, rows + count * l.in_features());
      });
  ASSERT_NE(qkv, nullptr);
  const int64_t k = qkv->in_features(), rows = static_cast<int64_t>(x.size()) / k;
  ASSERT_EQ(rows, 256);
  for (const auto& [format, search] : g["awq"].items()) {
    SCOPED_TRACE(format);
    expect_search_as_golden(awq_search(x.data(), rows, {qkv}, {parse_weight_format(format, "awq golden")}), search);
  }

  const nlohmann::json& want = g["gptq_int3_g64"];
  const Tensor w = fp32_weights_to_scale(*qkv);
  HessianAccumulator h(k);
  h.add(x.data(), rows);
  GptqOptions options;
  options.bits = 3;
  options.group_size = 64;
  options.damp = want["damp"];
  options.block_size = want["block_size"];
  const GroupQuantized q = gptq_quantize(w.data(), w.dim(0), k, h, options);
  // tr((W - Q) H (W - Q)^T) = 2/n Σ_rows ‖x (W - Q)^T‖².
  Tensor dequantized({w.dim(0), k});
  dequantize_groups(q, dequantized.data());
  double loss = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < w.dim(0); ++i) {
      double d = 0;
      for (int64_t j = 0; j < k; ++j)
        d += static_cast<double>(x[static_cast<size_t>(r * k + j)]) *
             (w.data()[i * k + j] - dequantized.data()[i * k + j]);
      loss += d * d;
    }
  loss *= 2.0 / static_cast<double>(rows);
  // squish's inputs are its own fp32 forward (within 1e-5 of transformers'), so a few codes round the
  // other way, and GPTQ carries each such difference into the rest of its row: measured 137 of 18,432
  // codes differing on AVX-512, 178 on the AVX2 path; the loss within 0.2%.
  EXPECT_NEAR(loss, want["loss"].get<double>(), 0.01 * want["loss"].get<double>());
  EXPECT_LT(loss, 0.2 * want["rtn_loss"].get<double>());  // measured 0.89 against RTN's 8.79
  int64_t same = 0, total = 0;
  for (size_t i = 0; i < want["codes_first_32_rows"].size(); ++i)
    for (size_t j = 0; j < want["codes_first_32_rows"][i].size(); ++j, ++total)
      same += q.codes[i * static_cast<size_t>(k) + j] == want["codes_first_32_rows"][i][j].get<int>();
  EXPECT_GE(same, total * 97 / 100) << same << " of " << total;
  RecordProperty("gptq_codes_differing", std::to_string(total - same));
  RecordProperty("gptq_loss", std::to_string(loss));
}

TEST(Awq, NeverWorseThanRoundToNearestAndKeepsTheFunction) {
  for (const std::string name : {"llama/tiny_untied", "llama/tiny_tied", "opt/tiny"}) {
    SCOPED_TRACE(name);
    auto model = load_model(test::fixtures_dir() + "/" + name);
    std::vector<LogprobTarget> targets;
    const TokenBatch batch = test::next_token_batch(kSequences, 0, targets);
    std::vector<double> before, after;
    model->target_logprobs(batch, targets, before);
    const BitPlan plan = int4_plan(*model);
    const std::vector<AwqChoice> choices = awq_scale(*model, {&batch, 1}, plan);
    EXPECT_EQ(choices.size(), model->smoothable_inputs().size());
    int scaled = 0;
    for (const AwqChoice& c : choices) {
      SCOPED_TRACE(c.producer);
      EXPECT_LE(c.awq_error, c.rtn_error);
      EXPECT_GT(c.rtn_error, 0.0);  // 4-bit groups do lose something
      EXPECT_GE(c.alpha, 0.0);
      EXPECT_LT(c.alpha, 1.0);
      scaled += c.alpha > 0;
    }
    EXPECT_GT(scaled, 0);
    model->target_logprobs(batch, targets, after);
    ASSERT_EQ(after.size(), before.size());
    for (size_t i = 0; i < before.size(); ++i) ASSERT_NEAR(after[i], before[i], 1e-4) << i;
  }
}

// A reader's bias shifts its fp32 and its quantized outputs alike: the search scores the weights'
// error alone, so a bias changes no candidate's error (OPT's Linears have biases).
TEST(Awq, AReadersBiasChangesNoCandidatesError) {
  const int64_t rows = 40, k = 64, n = 24;
  std::mt19937_64 rng(5);
  std::normal_distribution<float> normal;
  std::vector<float> x(static_cast<size_t>(rows * k));
  for (size_t i = 0; i < x.size(); ++i) x[i] = normal(rng) * (i % k == 3 ? 20.0f : 1.0f);  // an outlier channel
  Tensor w({n, k}), bias({n});
  for (float& v : w.values) v = normal(rng);
  for (float& v : bias.values) v = 5.0f + normal(rng);
  const Linear plain = make_linear("plain", LinearRole::kAttentionOut, 0, w, Tensor());
  const Linear biased = make_linear("biased", LinearRole::kAttentionOut, 0, w, bias);
  const std::vector<WeightFormat> formats = {parse_weight_format("int4-g32", "test")};
  const AwqSearch a = awq_search(x.data(), rows, {&plain}, formats);
  const AwqSearch b = awq_search(x.data(), rows, {&biased}, formats);
  ASSERT_EQ(a.errors.size(), b.errors.size());
  for (size_t g = 0; g < a.errors.size(); ++g) EXPECT_NEAR(b.errors[g], a.errors[g], 1e-6 * a.errors[g]) << g;
  EXPECT_EQ(a.alpha, b.alpha);
}

TEST(Awq, RefusesAPostNormEncoder) {
  auto bert = load_model(test::fixtures_dir() + "/tiny_bert");
  const TokenBatch batch = test::small_batch();
  BitPlan plan;
  for (const Linear* l : bert->linears()) plan.linears[l->name] = "int8-dynamic";
  EXPECT_THROW(awq_scale(*bert, {&batch, 1}, plan), UsageError);
}

// After the search, the plan's rounding of the scaled weights gives the error AWQ reported: the
// readers' outputs on the calibration rows measured against the fp32 model's own.
TEST(Awq, ReportedErrorIsTheQuantizedReadersOutputError) {
  auto fp32 = load_model(test::fixtures_dir() + "/llama/tiny_untied");
  auto model = load_model(test::fixtures_dir() + "/llama/tiny_untied");
  std::vector<LogprobTarget> targets;
  const TokenBatch batch = test::next_token_batch(kSequences, 0, targets);
  const BitPlan plan = int4_plan(*model);
  const std::vector<AwqChoice> choices = awq_scale(*model, {&batch, 1}, plan);
  // The first site: layer 0's input norm feeding q|k|v, whose input is the embeddings' (RMS-normed).
  ASSERT_EQ(choices.front().producer, "model.layers.0.input_layernorm");
  const auto capture = [&](SequenceModel& m, const std::string& linear) {
    std::vector<float> x;
    Tap tap;
    tap.fn = [&](const TapPoint& p, const TapView& v) {
      if (p.site != TapSite::kLinearInput || p.linear->name != linear) return;
      for (int64_t r = 0; r < v.rows; ++r)
        if (v.valid_row(r)) x.insert(x.end(), v.data + r * v.cols, v.data + (r + 1) * v.cols);
    };
    ForwardOptions o;
    o.tap = &tap;
    m.trace(batch, o);
    return x;
  };
  const std::string qkv = "model.layers.0.self_attn.qkv_proj";
  const std::vector<float> x_fp32 = capture(*fp32, qkv), x_scaled = capture(*model, qkv);
  apply_bit_plan(*model, plan);
  const Linear* reference = nullptr;
  const Linear* quantized = nullptr;
  for (const Linear* l : fp32->linears()) if (l->name == qkv) reference = l;
  for (const Linear* l : model->linears()) if (l->name == qkv) quantized = l;
  const int64_t k = reference->in_features(), n = reference->out_features(), rows = static_cast<int64_t>(x_fp32.size()) / k;
  const Tensor w = linear_dequantize(*reference), q = linear_dequantize(*quantized);
  double error = 0, norm = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < n; ++i) {
      double y = 0, yq = 0;
      for (int64_t j = 0; j < k; ++j) {
        y += static_cast<double>(x_fp32[static_cast<size_t>(r * k + j)]) * w.data()[i * k + j];
        yq += static_cast<double>(x_scaled[static_cast<size_t>(r * k + j)]) * q.data()[i * k + j];
      }
      error += (y - yq) * (y - yq);
      norm += y * y;
    }
  EXPECT_NEAR(error / norm, choices.front().awq_error, 1e-3 * choices.front().awq_error + 1e-9);
}

}  // namespace
}  // namespace squish
