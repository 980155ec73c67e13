// The Llama decoder against transformers: next-token log-probabilities of tiny random checkpoints
// (GQA 2:1 untied and 3:1 tied, loaded from HF safetensors and from the same weights written as a
// GGUF in llama.cpp's permuted layout) and of SmolLM2-135M-Instruct dequantized from its published
// GGUF, batched with right padding. Goldens: tools/make_llama_goldens.py.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_util.h"
#include "eval/export.h"
#include "model/llama/llama_checkpoint.h"
#include "model/load_model.h"
#include "test_paths.h"

namespace squish {
namespace {

using nlohmann::json;

json read_golden(const std::string& name) {
  return json::parse(read_maybe_gzip(test::fixtures_dir() + "/llama/" + name));
}

// Every sequence of a golden case in one right-padded batch; every position's next token a target.
void expect_logprobs_match(SequenceModel& model, const json& c, double tolerance) {
  const auto sequences = c["sequences"].get<std::vector<std::vector<int32_t>>>();
  TokenBatch b;
  b.batch = static_cast<int64_t>(sequences.size());
  for (const auto& s : sequences) b.tokens = std::max<int64_t>(b.tokens, static_cast<int64_t>(s.size()));
  b.input_ids.assign(static_cast<size_t>(b.batch * b.tokens), 0);
  b.token_type_ids.assign(b.input_ids.size(), 0);
  std::vector<LogprobTarget> targets;
  for (size_t i = 0; i < sequences.size(); ++i) {
    std::copy(sequences[i].begin(), sequences[i].end(), b.input_ids.begin() + static_cast<int64_t>(i) * b.tokens);
    b.lengths.push_back(static_cast<int32_t>(sequences[i].size()));
    for (size_t t = 0; t + 1 < sequences[i].size(); ++t)
      targets.push_back({static_cast<int64_t>(i), static_cast<int64_t>(t), sequences[i][t + 1]});
  }
  std::vector<double> got;
  model.target_logprobs(b, targets, got);
  ASSERT_EQ(got.size(), targets.size());
  size_t k = 0;
  double worst = 0;
  for (size_t i = 0; i < sequences.size(); ++i)
    for (size_t t = 0; t + 1 < sequences[i].size(); ++t, ++k) {
      const double want = c["logprobs"][i][t].get<double>();
      worst = std::max(worst, std::fabs(got[k] - want));
      ASSERT_NEAR(got[k], want, tolerance) << c["model"] << " sequence " << i << " position " << t;
    }
  ::testing::Test::RecordProperty("max_abs_logprob_error", std::to_string(worst));
}

TEST(Llama, TinyCheckpointsMatchTransformersFromSafetensorsAndGguf) {
  const json golden = read_golden("tiny_logprobs.json.gz");
  for (const json& c : golden["cases"]) {
    const std::string dir = test::fixtures_dir() + "/llama/" + c["model"].get<std::string>();
    for (const std::string& path : {dir, dir + ".gguf"}) {
      SCOPED_TRACE(path);
      const std::unique_ptr<SequenceModel> model = load_model(path);
      EXPECT_EQ(model->info().model_type, "llama");
      EXPECT_TRUE(model->info().has_lm_head);
      EXPECT_TRUE(model->info().unused_tensors.empty());
      expect_logprobs_match(*model, c, 2e-5);
    }
  }
}

TEST(Llama, TiedHeadSharesTheEmbeddingTableAndExportsWithoutLmHead) {
  const std::unique_ptr<SequenceModel> tied = load_model(test::fixtures_dir() + "/llama/tiny_tied");
  for (const TensorToWrite& t : tied->checkpoint_tensors(DType::kF32)) EXPECT_NE(t.name, "lm_head.weight");
  const std::unique_ptr<SequenceModel> untied = load_model(test::fixtures_dir() + "/llama/tiny_untied");
  int heads = 0;
  for (const TensorToWrite& t : untied->checkpoint_tensors(DType::kF32)) heads += t.name == "lm_head.weight";
  EXPECT_EQ(heads, 1);
  // transformers' count: no biases anywhere, the tied head counted once.
  EXPECT_EQ(tied->parameter_count(), 300 * 48 + 2 * (48 * (6 * 8 + 2 * 2 * 8) + 48 * 48 + 3 * 48 * 96 + 2 * 48) + 48);
}

TEST(Llama, ExportOfAGgufLoadsBackAsTheSameModel) {
  const json golden = read_golden("tiny_logprobs.json.gz");
  for (const json& c : golden["cases"]) {
    const std::string out = test::temp_dir("llama_export") + "/hf";
    export_model({test::fixtures_dir() + "/llama/" + c["model"].get<std::string>() + ".gguf", out, "f32"});
    const json config = json::parse(read_file(out + "/config.json"));
    EXPECT_EQ(config["tie_word_embeddings"].get<bool>(), c["model"] == "tiny_tied");
    const std::unique_ptr<SequenceModel> model = load_model(out);
    EXPECT_TRUE(model->info().unused_tensors.empty());
    expect_logprobs_match(*model, c, 2e-5);
  }
}

TEST(Llama, RotaryPermutationRoundTripsAndMatchesLlamaCppOrder) {
  Tensor hf({8, 3});  // 2 heads of 4 rows: HF halves [0 1 | 2 3], llama.cpp pairs (0 2)(1 3)
  for (int64_t i = 0; i < hf.numel(); ++i) hf.data()[i] = static_cast<float>(i);
  const Tensor gguf = permute_rotary_rows(hf, 2);
  const std::vector<int64_t> hf_row_of = {0, 2, 1, 3, 4, 6, 5, 7};
  for (int64_t r = 0; r < 8; ++r)
    EXPECT_EQ(gguf.data()[r * 3], static_cast<float>(hf_row_of[static_cast<size_t>(r)] * 3));
  EXPECT_EQ(un_permute_rotary_rows(gguf, 2).values, hf.values);
}

TEST(Llama, RefusesWhatItDoesNotCompute) {
  const std::string dir = test::temp_dir("llama_config");
  json config = json::parse(read_file(test::fixtures_dir() + "/llama/tiny_untied/config.json"));
  config["rope_parameters"]["rope_type"] = "yarn";
  write_file_atomic(dir + "/config.json", config.dump());
  std::filesystem::copy_file(test::fixtures_dir() + "/llama/tiny_untied/model.safetensors", dir + "/model.safetensors");
  try {
    load_model(dir);
    FAIL() << "a scaled rotary embedding was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("rope_type \"yarn\""), std::string::npos) << e.what();
  }
  const std::unique_ptr<SequenceModel> model = load_model(test::fixtures_dir() + "/llama/tiny_untied");
  std::vector<float> logits;
  EXPECT_THROW(model->forward(TokenBatch{}, logits, {}), ConfigError);
}

TEST(Llama, SmolLm2FromItsGgufMatchesTransformers) {
  const std::string path = test::smollm2_gguf();
  ASSERT_TRUE(std::filesystem::exists(path))
      << "no SmolLM2 GGUF at " << path << ": run `bash tools/fetch_smollm2.sh` (or set SQUISH_SMOLLM2_GGUF)";
  const std::unique_ptr<SequenceModel> model = load_model(path);
  EXPECT_EQ(model->info().layers, 30);
  EXPECT_EQ(model->parameter_count(), 134515008);  // transformers' num_parameters() of SmolLM2-135M
  expect_logprobs_match(*model, read_golden("smollm2_logprobs.json.gz")["cases"][0], 1e-4);
}

}  // namespace
}  // namespace squish
