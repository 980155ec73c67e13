// Sensitivity (quant/sensitivity.h) on the tiny fixture model: the efficient path (fp32 states
// captured once, one layer rerun per variant) gives exactly what quantizing the layer in the whole
// model and running a full forward gives; the token subsample is deterministic; lower widths are
// more sensitive; too few samples are refused with a clear message.
#include <gtest/gtest.h>
#include <omp.h>

#include <random>

#include "analysis/similarity.h"
#include "core/error.h"
#include "model/common/embedding_table.h"
#include "model/common/linear_formats.h"
#include "model/common/tap.h"
#include "model/load_model.h"
#include "quant/sensitivity.h"
#include "test_paths.h"

namespace squish {
namespace {

std::unique_ptr<SequenceModel> tiny() { return load_model(test::fixtures_dir() + "/tiny_bert_k16"); }

// `count` batches of 4 sequences of up to 12 tokens (vocabulary 61), the later ones padded.
std::vector<TokenBatch> random_batches(int count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<TokenBatch> batches;
  for (int i = 0; i < count; ++i) {
    TokenBatch b;
    b.batch = 4;
    b.tokens = 12;
    for (int s = 0; s < 4; ++s) {
      const int32_t len = 12 - 2 * s;
      b.lengths.push_back(len);
      for (int t = 0; t < 12; ++t) b.input_ids.push_back(t < len ? static_cast<int32_t>(3 + rng() % 58) : 0);
    }
    b.token_type_ids.assign(48, 0);
    batches.push_back(std::move(b));
  }
  return batches;
}

// Layer `layer`'s output rows (valid tokens, in batch order) from full forwards of `model`.
std::vector<float> layer_outputs(SequenceModel& model, const std::vector<TokenBatch>& batches, int layer) {
  std::vector<float> rows;
  Tap tap;
  tap.fn = [&](const TapPoint& p, const TapView& v) {
    if (p.site != TapSite::kLayerOutput || p.layer != layer) return;
    for (int64_t r = 0; r < v.rows; ++r)
      if (v.valid_row(r)) rows.insert(rows.end(), v.data + r * v.cols, v.data + (r + 1) * v.cols);
  };
  ForwardOptions options;
  options.last_layer = LastLayerRows::kAllTokens;
  options.tap = &tap;
  std::vector<float> logits;
  for (const TokenBatch& b : batches) model.forward(b, logits, options);
  return rows;
}

TEST(Sensitivity, RerunningOneLayerEqualsQuantizingItInTheWholeModel) {
  const std::vector<TokenBatch> batches = random_batches(6, 1);
  auto model = tiny();
  SensitivityOptions o;
  o.bits = {2, 8};
  o.group_size = 16;
  o.method = SimilarityMethod::kCka;
  o.max_tokens = 1 << 20;  // every valid token
  const SensitivityResult r = measure_sensitivity(*model, batches, o);
  ASSERT_EQ(r.units.size(), 3u);  // two layers and the embeddings
  EXPECT_EQ(r.units[0].name, "encoder.layer.0");
  EXPECT_EQ(r.units[2].name, "embeddings");
  EXPECT_EQ(r.compared_rows, r.valid_tokens);

  for (int layer = 0; layer < 2; ++layer)
    for (size_t w = 0; w < o.bits.size(); ++w) {
      auto whole = tiny();
      const std::vector<float> reference = layer_outputs(*whole, batches, layer);
      const WeightFormat f = parse_weight_format(linear_format_for_bits(o.bits[w], 16), "test");
      for (Linear* l : whole->mutable_linears())
        if (l->layer == layer) l->weights = f.traits->quantize(linear_dequantize(*l), f.group_size);
      const std::vector<float> quantized = layer_outputs(*whole, batches, layer);
      const int64_t rows = static_cast<int64_t>(reference.size()) / 32;
      const double expected = 1.0 - linear_cka_similarity({reference.data(), rows, 32}, {quantized.data(), rows, 32});
      EXPECT_NEAR(r.cells[static_cast<size_t>(layer)][w].sensitivity, expected, 1e-12) << layer << " " << o.bits[w];
    }
}

TEST(Sensitivity, FewerBitsAreMoreSensitiveAndTheSubsampleIsSeeded) {
  const std::vector<TokenBatch> batches = random_batches(8, 2);
  SensitivityOptions o;
  o.bits = {2, 4, 8, 16};
  o.group_size = 16;
  o.max_tokens = 200;  // of 288 valid tokens
  for (SimilarityMethod m : {SimilarityMethod::kSvcca, SimilarityMethod::kPwcca, SimilarityMethod::kCka}) {
    o.method = m;
    o.topk = 8;
    auto model = tiny();
    const SensitivityResult a = measure_sensitivity(*model, batches, o);
    const SensitivityResult b = measure_sensitivity(*model, batches, o);
    EXPECT_LT(a.compared_rows, a.valid_tokens);
    EXPECT_GT(a.compared_rows, 100);
    for (size_t u = 0; u < a.units.size(); ++u) {
      SCOPED_TRACE(a.units[u].name + " " + similarity_method_name(m));
      for (size_t w = 0; w < o.bits.size(); ++w) EXPECT_EQ(a.cells[u][w].sensitivity, b.cells[u][w].sensitivity);
      EXPECT_GT(a.cells[u][0].sensitivity, a.cells[u][2].sensitivity);  // 2 bits vs 8
      EXPECT_GT(a.cells[u][0].weight_error, a.cells[u][1].weight_error);
      EXPECT_GT(a.cells[u][1].weight_error, a.cells[u][2].weight_error);
      EXPECT_GT(a.cells[u][2].weight_error, a.cells[u][3].weight_error);
    }
    o.seed += 1;
    const SensitivityResult c = measure_sensitivity(*model, batches, o);
    EXPECT_NE(c.cells[0][0].sensitivity, a.cells[0][0].sensitivity);  // another seed, another subsample
    o.seed -= 1;
  }
}

// The variants are quantized a unit per thread and compared a cell per thread: which thread takes
// which, and how many there are, must not change a number.
TEST(Sensitivity, TheSameCellsOnOneThreadAndOnSeveral) {
  const std::vector<TokenBatch> batches = random_batches(8, 3);
  SensitivityOptions o;
  o.bits = {2, 4, 8};
  o.group_size = 16;
  const int threads = omp_get_max_threads();
  auto model = tiny();
  omp_set_num_threads(1);
  const SensitivityResult one = measure_sensitivity(*model, batches, o);
  omp_set_num_threads(3);
  const SensitivityResult three = measure_sensitivity(*model, batches, o);
  omp_set_num_threads(threads);
  for (size_t u = 0; u < one.units.size(); ++u)
    for (size_t w = 0; w < o.bits.size(); ++w) {
      EXPECT_EQ(one.cells[u][w].format, three.cells[u][w].format);
      EXPECT_EQ(one.cells[u][w].weight_error, three.cells[u][w].weight_error) << one.units[u].name;
      EXPECT_EQ(one.cells[u][w].sensitivity, three.cells[u][w].sensitivity) << one.units[u].name;
    }
}

TEST(Sensitivity, LinearGranularityAndFinalComparison) {
  const std::vector<TokenBatch> batches = random_batches(10, 3);
  auto model = tiny();
  SensitivityOptions o;
  o.bits = {2, 16};
  o.group_size = 16;
  o.granularity = SensitivityGranularity::kLinear;
  o.embeddings = false;
  o.method = SimilarityMethod::kCka;
  const SensitivityResult r = measure_sensitivity(*model, batches, o);
  ASSERT_EQ(r.units.size(), 8u);
  EXPECT_EQ(r.units[0].linears, std::vector<std::string>{"encoder.layer.0.attention.self.qkv"});
  for (size_t u = 0; u < r.units.size(); ++u) EXPECT_GT(r.cells[u][0].sensitivity, r.cells[u][1].sensitivity);
  // [CLS] rows only: 40 sequences is more than the hidden size of 32.
  o.granularity = SensitivityGranularity::kLayer;
  o.compare = CompareAt::kFinal;
  const SensitivityResult f = measure_sensitivity(*model, batches, o);
  EXPECT_EQ(f.compared_rows, 40);
}

// A tied table is also the LM head: its unit adds 1 − linear CKA of the head's logits, which equals
// CKA of the explicit [rows, V] logits of the compared rows (every valid token but each sequence's
// first, final-normed) with the fp32 and the quantized table; an untied model's embeddings have none.
TEST(Sensitivity, ATiedTableIsMeasuredAtTheLmHeadsLogitsToo) {
  const std::vector<TokenBatch> batches = random_batches(6, 5);
  SensitivityOptions o;
  o.bits = {2, 8};
  o.group_size = 16;
  o.max_tokens = 1 << 20;
  auto untied = load_model(test::fixtures_dir() + "/llama/tiny_untied");
  const SensitivityResult u = measure_sensitivity(*untied, batches, o);
  EXPECT_FALSE(u.cells.back()[0].head_similarity.has_value());

  auto model = load_model(test::fixtures_dir() + "/llama/tiny_tied");
  const SensitivityResult r = measure_sensitivity(*model, batches, o);
  ASSERT_EQ(r.units.back().name, "embeddings");
  const int64_t h = model->info().hidden_size;
  std::vector<float> rows;
  for (const TokenBatch& b : batches) {
    AlignedVector<float> hidden;
    model->embed(b, hidden);
    model->run_layers(b, hidden, 0, static_cast<int>(model->info().layers), nullptr);
    for (int64_t s = 0; s < b.batch; ++s)
      for (int64_t t = 1; t < b.lengths[static_cast<size_t>(s)]; ++t)
        rows.insert(rows.end(), hidden.begin() + (s * b.tokens + t) * h, hidden.begin() + (s * b.tokens + t + 1) * h);
  }
  const int64_t n = static_cast<int64_t>(rows.size()) / h;
  ASSERT_EQ(n, r.compared_rows);
  model->final_norm(rows.data(), n);
  const Tensor table = model->mutable_word_embeddings().dequantize();
  const int64_t vocab = table.dim(0);
  auto logits = [&](const Tensor& w) {
    std::vector<float> z(static_cast<size_t>(n * vocab));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t v = 0; v < vocab; ++v) {
        double sum = 0;
        for (int64_t c = 0; c < h; ++c) sum += static_cast<double>(rows[i * h + c]) * w.data()[v * h + c];
        z[static_cast<size_t>(i * vocab + v)] = static_cast<float>(sum);
      }
    return z;
  };
  const std::vector<float> fp32 = logits(table);
  for (size_t w = 0; w < o.bits.size(); ++w) {
    SCOPED_TRACE(o.bits[w]);
    const SensitivityCell& c = r.cells.back()[w];
    ASSERT_TRUE(c.head_similarity.has_value());
    const std::vector<float> quantized =
        logits(EmbeddingTable::quantized(table, embedding_format_for_bits(o.bits[w], 16)).dequantize());
    EXPECT_NEAR(*c.head_similarity, linear_cka_similarity({fp32.data(), n, vocab}, {quantized.data(), n, vocab}), 1e-6);
    EXPECT_LT(*c.head_similarity, 1.0);
    EXPECT_DOUBLE_EQ(c.sensitivity, (1.0 - c.similarity) + (1.0 - *c.head_similarity));
  }
  EXPECT_LT(*r.cells.back()[0].head_similarity, *r.cells.back()[1].head_similarity);  // 2 bits change it more
}

TEST(Sensitivity, TooFewSamplesAreAClearError) {
  const std::vector<TokenBatch> batches = random_batches(1, 4);  // 4 [CLS] rows, hidden size 32
  auto model = tiny();
  SensitivityOptions o;
  o.compare = CompareAt::kFinal;
  o.group_size = 16;
  try {
    measure_sensitivity(*model, batches, o);
    FAIL() << "4 samples of 32 dimensions were compared";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("4 compared rows"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("hidden size is 32"), std::string::npos) << e.what();
  }
  EXPECT_THROW(linear_format_for_bits(5, 64), UsageError);
  EXPECT_EQ(linear_format_for_bits(3, 64), "int3-g64");
}

}  // namespace
}  // namespace squish
