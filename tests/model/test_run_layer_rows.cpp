// SequenceModel::run_layer_rows, the partial layer sensitivity reruns: for every architecture's tiny
// fixture and every layer, the asked rows of its output equal those of the whole layer (run_layers),
// padded batches included, and the input states come back unchanged.
#include <gtest/gtest.h>

#include "common/token_batches.h"
#include "model/load_model.h"
#include "test_paths.h"

namespace squish {
namespace {

void expect_rows_of_the_whole_layer(const std::string& fixture, const TokenBatch& b) {
  SCOPED_TRACE(fixture);
  const std::unique_ptr<SequenceModel> model = load_model(test::fixtures_dir() + "/" + fixture);
  const int64_t h = model->info().hidden_size;
  // Rows out of order, one of each sequence's ends, and a padded position (computed, never compared).
  const std::vector<int64_t> rows = {b.tokens + 2, 0, b.tokens - 1, 3, b.batch * b.tokens - 1};
  AlignedVector<float> hidden;
  model->embed(b, hidden);
  for (int layer = 0; layer < static_cast<int>(model->info().layers); ++layer) {
    SCOPED_TRACE(layer);
    AlignedVector<float> whole = hidden, expected, got;
    model->run_layers(b, whole, layer, layer + 1, nullptr);
    gather_rows(whole.data(), h, rows, expected);
    const AlignedVector<float> input = hidden;
    model->run_layer_rows(b, hidden, layer, rows, got);
    EXPECT_EQ(hidden, input) << "the input states must come back unchanged";
    ASSERT_EQ(got.size(), rows.size() * static_cast<size_t>(h));
    // GEMMs over fewer rows may round differently; squish's kernels compute each row alike.
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], expected[i], 1e-5f * (1 + std::abs(expected[i]))) << i;
    hidden = whole;  // the next layer's input
  }
  AlignedVector<float> none(3, 1.0f);
  model->run_layer_rows(b, hidden, 0, {}, none);  // a batch none of whose rows is compared
  EXPECT_TRUE(none.empty());
}

TEST(RunLayerRows, EqualsTheWholeLayersRowsOnEveryArchitecture) {
  expect_rows_of_the_whole_layer("tiny_bert_k16", test::padded_batch(0));
  expect_rows_of_the_whole_layer("llama/tiny_tied", test::padded_batch(0));
  expect_rows_of_the_whole_layer("llama/tiny_untied", test::padded_batch(0));
  expect_rows_of_the_whole_layer("opt/tiny", test::padded_batch(1));
}

}  // namespace
}  // namespace squish
