// What the training tests share: the tiny trainable classifier (tests/fixtures/tiny_bert_train), the
// three golden batches PyTorch was run on (training_golden/batches.json), and a synthetic training
// set for whole-run tests. Not a reference: the goldens' values are read by test_training_golden.cpp.
#pragma once

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "model/bert/bert_checkpoint.h"
#include "model/bert/bert_parameters.h"
#include "model/common/trainable_classifier.h"
#include "model/load_model.h"
#include "test_paths.h"
#include "train/trainer.h"

namespace squish::testing_support {

inline std::string tiny_train_model_dir() { return std::string(SQUISH_FIXTURES_DIR) + "/tiny_bert_train"; }

inline BertParameters tiny_train_parameters() { return bert_parameters(load_bert_model(tiny_train_model_dir())); }

// The same model through the architecture-neutral seam the trainer and pruning take.
inline std::unique_ptr<TrainableClassifier> tiny_train_classifier() {
  return load_model(tiny_train_model_dir())->trainable_classifier();
}

// The golden batches (3 sequences × 10 tokens, right-padded, some pairs) and their labels.
inline std::vector<TokenBatch> golden_batches(std::vector<std::vector<int32_t>>& labels) {
  std::ifstream in(std::string(SQUISH_FIXTURES_DIR) + "/training_golden/batches.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  std::vector<TokenBatch> out;
  for (const auto& b : j.at("batches")) {
    TokenBatch t;
    t.batch = static_cast<int64_t>(b.at("input_ids").size());
    t.tokens = static_cast<int64_t>(b.at("input_ids")[0].size());
    for (const auto& row : b.at("input_ids"))
      for (int id : row) t.input_ids.push_back(id);
    for (const auto& row : b.at("token_type_ids"))
      for (int id : row) t.token_type_ids.push_back(id);
    for (int len : b.at("lengths")) t.lengths.push_back(len);
    labels.push_back(b.at("labels").get<std::vector<int32_t>>());
    out.push_back(std::move(t));
  }
  return out;
}

// `n` seeded random sequences for the tiny model (vocab 64, 24 positions): lengths 3..20, ids in
// [1, 64) (0 is padding), every third one a pair with token type 1 in its second half; labels 0/1.
inline TrainingSet synthetic_training_set(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> length(3, 20), id(1, 63), label(0, 1);
  TrainingSet set;
  for (int i = 0; i < n; ++i) {
    Encoding e;
    const int len = length(rng);
    for (int t = 0; t < len; ++t) {
      e.input_ids.push_back(id(rng));
      e.token_type_ids.push_back(i % 3 == 0 && t >= len / 2 ? 1 : 0);
      e.attention_mask.push_back(1);
    }
    set.encodings.push_back(std::move(e));
    set.labels.push_back(label(rng));
  }
  return set;
}

}  // namespace squish::testing_support
