// HellaSwag and perplexity on SmolLM2-135M-Instruct against a reference written from the harness's
// code with transformers (tools/hellaswag_reference.py): the items' query and endings as the harness
// preprocesses them (original and lm-eval file forms), every ending's log-likelihood within 1e-3, the
// same acc/acc_norm predictions, and every perplexity token's log-probability within 1e-3.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_util.h"
#include "eval/multiple_choice.h"
#include "eval/perplexity.h"
#include "io/datasets/hellaswag.h"
#include "io/tokenizer/tokenizer.h"
#include "model/load_model.h"
#include "test_paths.h"

namespace squish {
namespace {

using nlohmann::json;

std::string fixture(const std::string& name) { return test::fixtures_dir() + "/causal_lm/" + name; }

const json& references() {
  static const json j = json::parse(read_maybe_gzip(fixture("references.json.gz")));
  return j;
}

struct SmolLm2 {
  std::unique_ptr<SequenceModel> model;
  std::unique_ptr<Tokenizer> tokenizer;
};

SmolLm2& smollm2() {
  static SmolLm2 m = [] {
    const std::string path = test::smollm2_gguf();
    if (!std::filesystem::exists(path))
      throw std::runtime_error("no SmolLM2 GGUF at " + path + ": run `bash tools/fetch_smollm2.sh`");
    return SmolLm2{load_model(path), load_tokenizer(path)};
  }();
  return m;
}

TEST(HellaSwag, PreprocessesAsTheHarness) {
  EXPECT_EQ(hellaswag_preprocess("  A man [title] is [step] sitting  down. "), "A man. is sitting down.");
  EXPECT_EQ(hellaswag_preprocess("a [b\nc] d   e"), "a [b\nc] d  e");  // no tag across a newline; "  " once
  EXPECT_EQ(python_capitalize("tHE cAT"), "The cat");
  EXPECT_EQ(python_capitalize("éLAN"), "Élan");
  EXPECT_EQ(utf8_length("é a"), 3);
  EXPECT_NEAR(mean_stderr({1, 0, 1, 1}), 0.25, 1e-12);  // sample sd 0.5 over sqrt(4)
}

TEST(HellaSwag, ScoresLikeTheHarnessOnSmolLm2) {
  for (const char* file : {"hellaswag_lmeval24.jsonl", "hellaswag_original8.jsonl"}) {
    SCOPED_TRACE(file);
    const json& want = references()["hellaswag"][file];
    const std::vector<MultipleChoiceItem> items = read_hellaswag(fixture(file));
    ASSERT_EQ(items.size(), want.size());
    for (size_t i = 0; i < items.size(); ++i) {
      EXPECT_EQ(items[i].query, want[i]["query"].get<std::string>()) << "item " << i;
      EXPECT_EQ(items[i].choices, want[i]["choices"].get<std::vector<std::string>>()) << "item " << i;
      EXPECT_EQ(items[i].gold, want[i]["gold"].get<int>());
    }
    const MultipleChoiceResult r = score_multiple_choice(*smollm2().model, *smollm2().tokenizer, items, {3, false});
    double worst = 0;
    int correct = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      for (size_t k = 0; k < 4; ++k) {
        const double ll = want[i]["loglikelihoods"][k].get<double>();
        worst = std::max(worst, std::fabs(r.items[i].loglikelihoods[k] - ll));
        EXPECT_NEAR(r.items[i].loglikelihoods[k], ll, 1e-3) << "item " << i << " ending " << k;
      }
      EXPECT_EQ(r.items[i].pred, want[i]["pred"].get<int>()) << "item " << i;
      EXPECT_EQ(r.items[i].pred_norm, want[i]["pred_norm"].get<int>()) << "item " << i;
      correct += r.items[i].pred == items[i].gold;
    }
    EXPECT_DOUBLE_EQ(r.acc, static_cast<double>(correct) / static_cast<double>(items.size()));
    EXPECT_LT(r.forwarded_tokens, r.harness_tokens);  // each context ran once, not four times
    ::testing::Test::RecordProperty(std::string("max_ll_error_") + file, std::to_string(worst));
  }
}

TEST(Perplexity, SlidingWindowMatchesTheGuidesRecipeOnSmolLm2) {
  const json& want = references()["perplexity"];
  std::vector<std::string> texts = read_text_corpus(fixture("imdb_test3.jsonl"));
  PerplexityOptions options;
  options.max_length = want["max_length"].get<int>();
  options.stride = want["stride"].get<int>();
  options.batch_size = 4;
  options.progress = false;
  const PerplexityResult r = compute_perplexity(*smollm2().model, *smollm2().tokenizer, texts, options);
  ASSERT_EQ(r.texts.size(), want["texts"].size());
  double nll = 0;
  int64_t n = 0;
  for (size_t t = 0; t < r.texts.size(); ++t) {
    EXPECT_EQ(r.texts[t].input_ids, want["texts"][t]["input_ids"].get<std::vector<int32_t>>());
    const auto logprobs = want["texts"][t]["token_logprobs"].get<std::vector<double>>();
    ASSERT_EQ(r.texts[t].token_logprobs.size(), logprobs.size());
    for (size_t i = 0; i < logprobs.size(); ++i) {
      EXPECT_NEAR(r.texts[t].token_logprobs[i], logprobs[i], 1e-3) << "text " << t << " token " << i;
      nll -= logprobs[i];
      ++n;
    }
  }
  EXPECT_EQ(r.scored_tokens, n);
  EXPECT_NEAR(r.perplexity, std::exp(nll / static_cast<double>(n)), 1e-3 * r.perplexity);
}

TEST(Perplexity, RefusesAStrideThatSkipsTokensAndAClassifier) {
  PerplexityOptions options;
  options.max_length = 16;
  options.stride = 17;
  EXPECT_THROW(compute_perplexity(*smollm2().model, *smollm2().tokenizer, {"a b c"}, options), UsageError);
  const std::unique_ptr<SequenceModel> bert = load_model(test::shared_dir() + "/models/bert-tiny-sst2-scratch");
  EXPECT_THROW(compute_perplexity(*bert, *smollm2().tokenizer, {"a b c"}, {}), ConfigError);
}

}  // namespace
}  // namespace squish
