// The classifiers in shared/models, discovered at test time so every model added there is checked
// without touching the tests, and their reference goldens (tools/make_model_goldens.py): committed
// under tests/fixtures/models/, or made by CI into $SQUISH_GOLDEN_DIR for models newer than the commit.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace squish::test {

// Names of model directories holding a BERT *ForSequenceClassification config and weights.
std::vector<std::string> classifier_models();
std::string model_dir(const std::string& name);
// The golden of a model; throws std::runtime_error saying how to make it when there is none.
nlohmann::json model_golden(const std::string& name);
// The PyTorch fake-quant logits of its static W8A8 model (tools/make_static_goldens.py).
nlohmann::json static_golden(const std::string& name);
// A model name as a gtest parameter name (only [A-Za-z0-9_]).
std::string model_param_name(const ::testing::TestParamInfo<std::string>& info);

}  // namespace squish::test
