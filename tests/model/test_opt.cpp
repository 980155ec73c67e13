// The OPT decoder against transformers: next-token log-probabilities of two tiny random
// OPTForCausalLM checkpoints (4 heads with a tied head; 3 heads of 8 with an untied head), every
// bias and LayerNorm random, batched with right padding; branches (a shared context with
// continuations, as HellaSwag runs) against the continuations as sequences of their own; export,
// facebook's unprefixed names, the real opt-125m config's size and the refused configs.
// Goldens: tools/make_opt_goldens.py.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/token_batches.h"
#include "core/error.h"
#include "core/file_util.h"
#include "io/weights_file.h"
#include "model/load_model.h"
#include "test_paths.h"

namespace squish {
namespace {

using nlohmann::json;

std::string fixture(const std::string& name) { return test::fixtures_dir() + "/opt/" + name; }

json golden_cases() { return json::parse(read_maybe_gzip(fixture("tiny_logprobs.json.gz")))["cases"]; }

// Right-padded sequences in one batch (pad id 1, OPT's), every position's next token a target.
TokenBatch batch_of(const std::vector<std::vector<int32_t>>& sequences, std::vector<LogprobTarget>& targets) {
  return test::next_token_batch(sequences, 1, targets);
}

// The largest |log-prob - golden| over every next token of a golden case.
double max_error(SequenceModel& model, const json& c) {
  const auto sequences = c["sequences"].get<std::vector<std::vector<int32_t>>>();
  std::vector<LogprobTarget> targets;
  const TokenBatch b = batch_of(sequences, targets);
  std::vector<double> got;
  model.target_logprobs(b, targets, got);
  EXPECT_EQ(got.size(), targets.size());
  double worst = 0;
  for (size_t k = 0; k < targets.size() && k < got.size(); ++k) {
    const double want = c["logprobs"][targets[k].sequence][targets[k].position].get<double>();
    worst = std::max(worst, std::fabs(got[k] - want));
  }
  return worst;
}

TEST(Opt, TinyCheckpointsMatchTransformers) {
  for (const json& c : golden_cases()) {
    SCOPED_TRACE(c["model"].get<std::string>());
    const std::unique_ptr<SequenceModel> model = load_model(fixture(c["model"].get<std::string>()));
    EXPECT_EQ(model->info().model_type, "opt");
    EXPECT_TRUE(model->info().has_lm_head);
    EXPECT_TRUE(model->info().unused_tensors.empty());
    EXPECT_EQ(model->parameter_count(), c["parameters"].get<int64_t>());  // transformers' num_parameters()
    const double worst = max_error(*model, c);
    EXPECT_LT(worst, 2e-5);
    char text[32];
    std::snprintf(text, sizeof text, "%.2e", worst);
    ::testing::Test::RecordProperty("max_abs_logprob_error_" + c["model"].get<std::string>(), text);
  }
}

// HellaSwag puts a context and its endings in one sequence (kernels/causal_attention.h): each
// ending's tokens must score as they do when the ending follows the context alone, positions
// included (OPT's learned positions restart after the context for every branch).
TEST(Opt, BranchesScoreLikeSeparateSequences) {
  const std::unique_ptr<SequenceModel> model = load_model(fixture("tiny"));
  const std::vector<int32_t> context = {2, 17, 250, 41, 9}, first = {77, 120, 5}, second = {33, 64, 299, 8};
  std::vector<LogprobTarget> separate_targets;
  std::vector<int32_t> with_first = context, with_second = context;
  with_first.insert(with_first.end(), first.begin(), first.end());
  with_second.insert(with_second.end(), second.begin(), second.end());
  const TokenBatch separate = batch_of({with_first, with_second}, separate_targets);
  std::vector<double> expected;
  model->target_logprobs(separate, separate_targets, expected);

  TokenBatch branched;
  branched.batch = 1;
  branched.input_ids = context;
  branched.input_ids.insert(branched.input_ids.end(), first.begin(), first.end());
  branched.input_ids.insert(branched.input_ids.end(), second.begin(), second.end());
  branched.tokens = static_cast<int64_t>(branched.input_ids.size());
  branched.lengths = {static_cast<int32_t>(branched.tokens)};
  branched.token_type_ids.assign(branched.input_ids.size(), 0);
  branched.branch_ids.assign(context.size(), 0);
  branched.branch_ids.insert(branched.branch_ids.end(), first.size(), 1);
  branched.branch_ids.insert(branched.branch_ids.end(), second.size(), 2);
  // The same targets: a separate sequence's position p is the context's below its length, else
  // its ending's place in the branched row.
  std::vector<LogprobTarget> targets;
  const int64_t n = static_cast<int64_t>(context.size()), ending_start[2] = {n, n + static_cast<int64_t>(first.size())};
  for (const LogprobTarget& t : separate_targets)
    targets.push_back({0, t.position < n ? t.position : ending_start[t.sequence] + t.position - n, t.token});
  std::vector<double> got;
  model->target_logprobs(branched, targets, got);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], expected[k], 1e-5) << "target " << k;
}

TEST(Opt, ExportGivesBackEveryStoredTensorAndReadsFacebookNames) {
  for (const std::string name : {"tiny", "tiny_odd"}) {
    SCOPED_TRACE(name);
    const WeightsFile stored = read_weights_file(find_weights_file(fixture(name)));
    const std::unique_ptr<SequenceModel> model = load_model(fixture(name));
    const std::vector<TensorToWrite> exported = model->checkpoint_tensors(DType::kF32);
    ASSERT_EQ(exported.size(), stored.tensors.size());
    for (const TensorToWrite& t : exported) {
      const auto it = stored.tensors.find(t.name);
      ASSERT_NE(it, stored.tensors.end()) << t.name;
      EXPECT_EQ(t.shape, it->second.shape) << t.name;
      ASSERT_EQ(t.bytes.size(), it->second.nbytes) << t.name;
      EXPECT_EQ(std::memcmp(t.bytes.data(), it->second.data, t.bytes.size()), 0) << t.name;
    }
  }
  // facebook/opt-* checkpoints store an OPTModel: "decoder.layers.0...", no "model." prefix.
  const std::string dir = test::temp_dir("opt_facebook_names");
  std::filesystem::copy_file(fixture("tiny/config.json"), dir + "/config.json");
  std::vector<TensorToWrite> renamed = load_model(fixture("tiny"))->checkpoint_tensors(DType::kF32);
  for (TensorToWrite& t : renamed) t.name = t.name.substr(std::string("model.").size());
  write_safetensors(dir + "/model.safetensors", renamed, {{"format", "pt"}});
  const std::unique_ptr<SequenceModel> model = load_model(dir);
  EXPECT_TRUE(model->info().unused_tensors.empty());
  EXPECT_LT(max_error(*model, golden_cases()[0]), 2e-5);
}

TEST(Opt, RealOpt125mConfigHasItsPublishedSize) {
  const ConfigSummary s = describe_config(test::shared_dir() + "/models/opt-125m-tokenizer");
  EXPECT_EQ(s.info.model_type, "opt");
  EXPECT_EQ(s.info.layers, 12);
  EXPECT_EQ(total_parameters(s.parameter_groups), 125239296);  // facebook/opt-125m's model card
}

TEST(Opt, RefusesWhatItDoesNotComputeNamingTheField) {
  const json base = json::parse(read_file(test::shared_dir() + "/models/opt-125m-tokenizer/config.json"));
  const std::vector<std::pair<std::string, json>> refused = {{"do_layer_norm_before", false},
                                                             {"activation_function", "gelu"},
                                                             {"word_embed_proj_dim", 512},
                                                             {"enable_bias", false},
                                                             {"layer_norm_elementwise_affine", false}};
  for (const auto& [field, value] : refused) {
    SCOPED_TRACE(field);
    const std::string dir = test::temp_dir("opt_refused_" + field);
    json config = base;
    config[field] = value;
    write_file_atomic(dir + "/config.json", config.dump());
    try {
      describe_config(dir);
      FAIL() << field << " = " << value.dump() << " was accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("\"" + field + "\""), std::string::npos) << e.what();
    }
  }
  const std::unique_ptr<SequenceModel> model = load_model(fixture("tiny"));
  std::vector<float> logits;
  EXPECT_THROW(model->forward(TokenBatch{}, logits, {}), ConfigError);
}

TEST(Opt, RandomWeightsFromAConfigRun) {
  const std::unique_ptr<SequenceModel> model = random_model(fixture("tiny_odd/config.json"), 7);
  EXPECT_EQ(model->parameter_count(), golden_cases()[1]["parameters"].get<int64_t>());
  std::vector<LogprobTarget> targets;
  const TokenBatch b = batch_of({{2, 5, 9, 11}, {2, 7}}, targets);
  std::vector<double> logprobs;
  model->target_logprobs(b, targets, logprobs);
  for (double l : logprobs) EXPECT_TRUE(std::isfinite(l) && l < 0);
}

}  // namespace
}  // namespace squish
