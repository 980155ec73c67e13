// Sensitivity on every classifier in shared/models: each encoder layer and the word embeddings are
// more sensitive at 2 bits than at 8 (PWCCA, the default measure, on SST-2 train sentences).
#include <gtest/gtest.h>

#include "eval/calibration_data.h"
#include "io/tokenizer/tokenizer.h"
#include "model/load_model.h"
#include "model/real_models.h"
#include "quant/sensitivity.h"
#include "test_paths.h"

namespace squish {
namespace {

class RealModelSensitivity : public ::testing::TestWithParam<std::string> {};

TEST_P(RealModelSensitivity, FewerBitsAreMoreSensitiveInEveryLayer) {
  const std::string dir = test::model_dir(GetParam());
  const auto model = load_model(dir);
  const auto tokenizer = load_tokenizer(dir);
  CalibrationRequest c;
  c.task = "sst2";
  c.split = "train";
  c.eval_split = "dev";
  c.data_dir = test::shared_dir() + "/data";
  c.size = 160;
  c.max_length = 64;
  const CalibrationSet set = load_calibration_set(*tokenizer, c);
  SensitivityOptions o;
  o.bits = {2, 8};
  o.max_tokens = 1200;
  const SensitivityResult r = measure_sensitivity(*model, set.batches, o);
  ASSERT_EQ(r.units.size(), static_cast<size_t>(model->info().layers) + 1);
  for (size_t u = 0; u < r.units.size(); ++u) {
    SCOPED_TRACE(r.units[u].name);
    EXPECT_GT(r.cells[u][0].sensitivity, r.cells[u][1].sensitivity);
    EXPECT_GT(r.cells[u][0].weight_error, r.cells[u][1].weight_error);
    for (const SensitivityCell& cell : r.cells[u]) {
      EXPECT_GE(cell.similarity, 0.0);
      EXPECT_LE(cell.similarity, 1.0 + 1e-9);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(SharedModels, RealModelSensitivity, ::testing::ValuesIn(test::classifier_models()),
                         test::model_param_name);

}  // namespace
}  // namespace squish
