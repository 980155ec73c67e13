// The seam training and pruning take (model/common/trainable_classifier.h), on the tiny BERT: its
// training forward and backward are BERT's own bit for bit, a clone trains apart from its source,
// the inference model of untouched parameters gives the loaded model's logits, a shrunk model keeps
// what it was told to, and an architecture squish does not train says so.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "model/bert/bert_training.h"
#include "tiny_train_fixture.h"

namespace squish {
namespace {

bool bit_identical(const ParameterBuffer& a, const ParameterBuffer& b) {
  return a.floats() == b.floats() &&
         std::memcmp(a.all(), b.all(), static_cast<size_t>(a.floats()) * sizeof(float)) == 0;
}

TEST(TrainableClassifier, IsBertsOwnTrainingForwardAndBackward) {
  std::vector<std::vector<int32_t>> labels;
  const std::vector<TokenBatch> batches = testing_support::golden_batches(labels);
  const std::unique_ptr<TrainableClassifier> model = testing_support::tiny_train_classifier();
  const BertParameters p = testing_support::tiny_train_parameters();
  ASSERT_TRUE(bit_identical(model->parameters(), p.values));
  EXPECT_EQ(model->num_labels(), p.config.num_labels);
  for (const bool dropout : {false, true}) {
    SCOPED_TRACE(dropout ? "dropout" : "no dropout");
    ParameterBuffer seam_grads(p.values.shared_layout()), bert_grads(p.values.shared_layout());
    const double loss = model->train_forward(batches[1], labels[1], TrainingDropout{dropout, 9, 4, 0});
    model->backward(batches[1], seam_grads);
    BertTrainActivations act;
    const BertDropout rates = dropout ? BertDropout::from_config(p.config, 9, 4) : BertDropout{};
    const float bert_loss = bert_train_forward(p, batches[1], labels[1], rates, act);
    bert_backward(p, batches[1], act, bert_grads);
    EXPECT_EQ(loss, static_cast<double>(bert_loss));
    EXPECT_TRUE(bit_identical(seam_grads, bert_grads));
    EXPECT_GT(std::count_if(seam_grads.all(), seam_grads.all() + seam_grads.floats(), [](float g) { return g != 0; }),
              seam_grads.floats() / 2);
  }
  EXPECT_EQ(model->train_flops(3, 10), bert_train_flops(p.config, 3, 10));
}

TEST(TrainableClassifier, ACloneTrainsApartAndTheInferenceModelIsTheLoadedOne) {
  const std::unique_ptr<TrainableClassifier> model = testing_support::tiny_train_classifier();
  const std::unique_ptr<TrainableClassifier> copy = model->clone();
  copy->parameters().all()[0] += 1.0f;
  EXPECT_FALSE(bit_identical(copy->parameters(), model->parameters()));
  std::vector<std::vector<int32_t>> labels;
  const TokenBatch batch = testing_support::golden_batches(labels)[0];
  std::vector<float> from_seam, loaded;
  model->inference_model()->forward(batch, from_seam);
  load_model(testing_support::tiny_train_model_dir())->forward(batch, loaded);
  EXPECT_EQ(from_seam, loaded);
  // A shrunk model holds exactly the kept structures.
  StructureKeep keep{{{0, 2}, {1}}, {}};
  for (const auto& layer : model->zero_scores().neurons) {
    keep.neurons.emplace_back();
    for (size_t j = 0; j < layer.size(); j += 2) keep.neurons.back().push_back(static_cast<int64_t>(j));
  }
  const StructureScores sizes = model->shrink(keep)->zero_scores();
  ASSERT_EQ(sizes.heads.size(), 2u);
  EXPECT_EQ(sizes.heads[0].size(), 2u);
  EXPECT_EQ(sizes.heads[1].size(), 1u);
  EXPECT_EQ(sizes.neurons[0].size(), keep.neurons[0].size());
}

TEST(TrainableClassifier, ADecoderHasNoTrainingForward) {
  const auto llama = load_model(std::string(SQUISH_FIXTURES_DIR) + "/llama/tiny_untied");
  try {
    llama->trainable_classifier(NewHead{2, 42});
    ADD_FAILURE() << "a Llama model gave a trainable classifier";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("has no training forward in squish"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace squish
