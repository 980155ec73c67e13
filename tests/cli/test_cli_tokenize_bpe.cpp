// squish tokenize on the byte-level BPE folders (GPT-2: vocab.json + merges.txt alone; OPT: with its configs),
// against the HF goldens of tools/make_bpe_goldens.py, with and without special tokens.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_runner.h"
#include "core/file_util.h"

namespace squish {
namespace {

using test::quote;
using test::run_squish;
using test::RunResult;

// Every crafted string that is valid UTF-8 (JSON carries nothing else), through the binary.
void expect_crafted(const std::string& folder, const std::string& name, bool special) {
  const auto g = nlohmann::json::parse(read_maybe_gzip(test::fixtures_dir() + "/tokenizer/bpe/crafted.json.gz"));
  std::string input;
  std::vector<const nlohmann::json*> cases;
  for (const auto& c : g["cases"]) {
    if (!c.contains("text")) continue;
    input += nlohmann::json{{"text", c["text"]}}.dump() + "\n";
    cases.push_back(&c);
  }
  const RunResult r = run_squish("tokenize --model_dir " + quote(test::shared_dir() + "/models/" + folder) +
                                     " --max_length 2048" + (special ? "" : " --no_special_tokens"),
                                 input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  int bad = 0;
  for (const nlohmann::json* c : cases) {
    ASSERT_TRUE(std::getline(lines, line)) << name;
    const auto out = nlohmann::json::parse(line);
    EXPECT_FALSE(out.contains("token_type_ids")) << "causal LMs take no token types, as HF prints";
    const auto want = (*c)[special ? name + "_special" : name].get<std::vector<int32_t>>();
    const auto got = out["input_ids"].get<std::vector<int32_t>>();
    if (got != want && ++bad <= 5) ADD_FAILURE() << name << " " << (*c)["name"] << (special ? " (special)" : "");
    EXPECT_EQ(out["attention_mask"].get<std::vector<int32_t>>(), std::vector<int32_t>(got.size(), 1));
  }
  EXPECT_FALSE(std::getline(lines, line));
  EXPECT_EQ(bad, 0);
  EXPECT_GT(cases.size(), 300u);
}

TEST(CliTokenizeBpe, Gpt2FolderOfVocabAndMergesAlone) {
  expect_crafted("gpt2-tokenizer", "gpt2", true);
  expect_crafted("gpt2-tokenizer", "gpt2", false);
}

TEST(CliTokenizeBpe, OptPrependsEosUnlessNoSpecialTokens) {
  expect_crafted("opt-125m-tokenizer", "opt", true);
  expect_crafted("opt-125m-tokenizer", "opt", false);
  const std::string opt = quote(test::shared_dir() + "/models/opt-125m-tokenizer");
  const RunResult r = run_squish("tokenize --model_dir " + opt + " --max_length 2", "{\"text\": \"Hello world\"}\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["input_ids"], nlohmann::json({2, 31414}));
  // The positions of config.json bound --max_length; a pair is refused without special tokens.
  EXPECT_EQ(run_squish("tokenize --model_dir " + opt + " --max_length 4096", "{\"text\": \"x\"}\n").exit_code, 2);
  const RunResult pair =
      run_squish("tokenize --no_special_tokens --model_dir " + opt, "{\"text\": \"a\", \"text_pair\": \"b\"}\n");
  EXPECT_EQ(pair.exit_code, 2);
  EXPECT_NE(pair.err.find("stdin:1"), std::string::npos) << pair.err;
}

}  // namespace
}  // namespace squish
