// ByteLevelBpeTokenizer against goldens written by HF tokenizers / transformers (tools/make_bpe_goldens.py):
// every text of IMDB train, SST-2 train and MRPC train for GPT-2, OPT and SmolLM2, crafted strings, every code
// point's class, the readers' error paths and load_tokenizer's dispatch.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "core/error.h"
#include "core/file_util.h"
#include "io/tokenizer/bpe_loaders.h"
#include "io/tokenizer/bpe_tokenizer_json.h"
#include "io/tokenizer/byte_level_bpe.h"
#include "test_paths.h"

namespace squish {
namespace {

const char* const kNames[] = {"gpt2", "opt", "smollm2"};

std::string shared(const std::string& rel) { return test::shared_dir() + "/" + rel; }
std::string fixture(const std::string& name) { return test::fixtures_dir() + "/tokenizer/bpe/" + name; }
nlohmann::json golden(const std::string& name) { return nlohmann::json::parse(read_maybe_gzip(fixture(name))); }

const nlohmann::json& smollm2_metadata() {
  static const nlohmann::json m = golden("smollm2_gguf_tokenizer.json.gz");
  return m;
}

const ByteLevelBpeTokenizer& tokenizer(const std::string& name) {
  static const auto gpt2 = bpe_tokenizer_from_vocab_merges(shared("models/gpt2-tokenizer"));
  static const auto opt = bpe_tokenizer_from_vocab_merges(shared("models/opt-125m-tokenizer"));
  static const auto smollm2 = bpe_tokenizer_from_gguf_metadata(smollm2_metadata(), "smollm2_gguf_tokenizer.json");
  return name == "gpt2" ? *gpt2 : name == "opt" ? *opt : *smollm2;
}

uint32_t ids_hash(const std::vector<int32_t>& ids) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const int32_t id : ids) h = (h ^ static_cast<uint32_t>(id)) * 0x100000001b3ull;
  return static_cast<uint32_t>(h ^ (h >> 32));
}

std::string describe(const ByteLevelBpeTokenizer& t, const std::vector<int32_t>& got,
                     const std::vector<int32_t>& want) {
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  std::ostringstream s;
  s << "first difference at " << i << " (lengths " << got.size() << " vs " << want.size() << "): got";
  for (size_t k = i; k < std::min(got.size(), i + 4); ++k) s << " " << got[k] << ":" << t.id_to_token(got[k]);
  s << " | want";
  for (size_t k = i; k < std::min(want.size(), i + 4); ++k) s << " " << want[k] << ":" << t.id_to_token(want[k]);
  return s.str();
}

std::vector<std::string> read_tsv_column(const std::string& path, std::initializer_list<size_t> columns) {
  const std::string text = read_maybe_gzip(path);
  std::vector<std::string> out;
  size_t pos = text.find('\n') + 1;  // header
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::vector<std::string_view> cols;
    std::string_view line(text.data() + pos, eol - pos);
    for (size_t tab; (tab = line.find('\t')) != std::string_view::npos; line.remove_prefix(tab + 1))
      cols.push_back(line.substr(0, tab));
    cols.push_back(line);
    for (const size_t c : columns) out.emplace_back(cols.at(c));
    pos = eol + 1;
  }
  return out;
}

std::vector<std::string> read_corpus(const std::string& name) {
  if (name == "sst2_train") return read_tsv_column(shared("data/glue/sst2/train.tsv.gz"), {0});
  if (name == "mrpc_train") return read_tsv_column(shared("data/glue/mrpc/train.tsv"), {3, 4});
  std::vector<std::string> out;
  std::istringstream in(read_maybe_gzip(shared("data/imdb/train.jsonl.gz")));
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line)["text"].get<std::string>());
  return out;
}

// Read once per process: several tests walk the same texts.
const std::vector<std::string>& corpus(const std::string& name) {
  static std::map<std::string, std::vector<std::string>> texts;
  auto it = texts.find(name);
  if (it == texts.end()) it = texts.emplace(name, read_corpus(name)).first;
  return it->second;
}

// Every text of every corpus, each tokenizer in its own thread; with and without special tokens.
TEST(BpeGolden, EveryTextOfImdbSst2MrpcTrainForGpt2OptSmollm2) {
  const auto manifest = golden("manifest.json.gz");
  ASSERT_EQ(manifest["tokenizers"], nlohmann::json(std::vector<std::string>(std::begin(kNames), std::end(kNames))));
  for (const char* name : kNames) tokenizer(name);  // loaded before the threads start
  size_t texts_checked = 0;
  for (const auto& [corpus_name, info] : manifest["corpora"].items()) {
    const std::vector<std::string>& texts = corpus(corpus_name);
    const size_t n = texts.size();
    ASSERT_EQ(n, info["texts"].get<size_t>()) << corpus_name;
    const std::string blob = read_maybe_gzip(fixture(corpus_name + ".bin.gz"));
    ASSERT_EQ(blob.size(), 3 * 2 * n * sizeof(uint32_t)) << corpus_name;
    auto check = [&](size_t which) {
      const std::string name = kNames[which];
      const ByteLevelBpeTokenizer& t = tokenizer(name);
      std::vector<uint32_t> counts(n), hashes(n);
      std::memcpy(counts.data(), blob.data() + (2 * which) * n * 4, n * 4);
      std::memcpy(hashes.data(), blob.data() + (2 * which + 1) * n * 4, n * 4);
      const auto prefix = manifest["special"][name]["prefix"].get<std::vector<int32_t>>();
      const auto suffix = manifest["special"][name]["suffix"].get<std::vector<int32_t>>();
      int bad = 0;
      size_t tokens = 0;
      double s = 0;
      for (size_t i = 0; i < n; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        const std::vector<int32_t> ids = t.encode_ids(texts[i], false);
        s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        tokens += ids.size();
        if (ids.size() != counts[i] || ids_hash(ids) != hashes[i]) {
          if (++bad <= 3)
            ADD_FAILURE() << name << " " << corpus_name << " text " << i << ": " << ids.size() << " ids, HF "
                          << counts[i] << " (or a different hash)";
        }
        const std::vector<int32_t> full = t.encode_ids(texts[i], true);
        const bool decorated = full.size() == prefix.size() + ids.size() + suffix.size() &&
                               std::equal(prefix.begin(), prefix.end(), full.begin()) &&
                               std::equal(ids.begin(), ids.end(), full.begin() + prefix.size()) &&
                               std::equal(suffix.begin(), suffix.end(), full.end() - suffix.size());
        if (!decorated && ++bad <= 6)
          ADD_FAILURE() << name << " " << corpus_name << " text " << i << ": special tokens differ";
      }
      std::printf("[ timing   ] %s %s: %zu texts, %zu tokens in %.2f s (%.2f M tokens/s)\n", name.c_str(),
                  corpus_name.c_str(), n, tokens, s, static_cast<double>(tokens) / s / 1e6);
      return bad;
    };
    std::vector<std::future<int>> jobs;
    for (size_t which = 0; which < 3; ++which) jobs.push_back(std::async(std::launch::async, check, which));
    for (auto& j : jobs) EXPECT_EQ(j.get(), 0) << corpus_name;
    texts_checked += n;
  }
  EXPECT_EQ(texts_checked, 25000u + 67349u + 2 * 3668u);
}

TEST(BpeGolden, FullIdsOfSampledTexts) {
  const auto g = golden("samples.json.gz");
  int bad = 0;
  for (const auto& c : g["cases"]) {
    const std::string corpus_name = c["corpus"].get<std::string>();
    const ByteLevelBpeTokenizer& t = tokenizer(c["tokenizer"].get<std::string>());
    const auto want = c["ids"].get<std::vector<int32_t>>();
    const auto got = t.encode_ids(corpus(corpus_name).at(c["index"].get<size_t>()), false);
    if (got != want && ++bad <= 5)
      ADD_FAILURE() << c["tokenizer"] << " " << corpus_name << " " << c["index"] << ": " << describe(t, got, want);
  }
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(g["cases"].size(), 900u);
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string crafted_text(const nlohmann::json& c) {
  return c.contains("bytes_hex") ? from_hex(c["bytes_hex"].get<std::string>()) : c["text"].get<std::string>();
}

int check_crafted(const ByteLevelBpeTokenizer& t, const std::string& name, const std::string& label) {
  int bad = 0;
  const nlohmann::json crafted = golden("crafted.json.gz");  // a range-for over a temporary's member dangles
  for (const auto& c : crafted["cases"]) {
    const std::string text = crafted_text(c);
    for (const bool special : {false, true}) {
      const auto want = c[special ? name + "_special" : name].get<std::vector<int32_t>>();
      const auto got = t.encode_ids(text, special);
      if (got != want && ++bad <= 10)
        ADD_FAILURE() << label << " " << c["name"] << (special ? " (special tokens)" : "") << ": "
                      << describe(t, got, want);
    }
  }
  return bad;
}

TEST(BpeGolden, CraftedStrings) {
  for (const char* name : kNames) EXPECT_EQ(check_crafted(tokenizer(name), name, name), 0);
}

TEST(BpeGolden, EveryCodePointClassLikeHf) {
  std::istringstream in(read_maybe_gzip(fixture("codepoints.txt.gz")));
  int bad = 0;
  char32_t expected_next = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string range;
    char cls = 0, digit = 0;
    ls >> range >> cls >> digit;
    const size_t dash = range.find('-');
    const auto first = static_cast<char32_t>(std::stoul(range.substr(0, dash), nullptr, 16));
    const auto last =
        dash == std::string::npos ? first : static_cast<char32_t>(std::stoul(range.substr(dash + 1), nullptr, 16));
    EXPECT_EQ(first, expected_next == 0xD800 ? 0xE000 : expected_next);
    expected_next = last + 1;
    for (char32_t c = first; c <= last; ++c) {
      if (gpt2_char_class(c) != cls || is_hf_numeric(c) != (digit == 'D')) {
        if (++bad <= 20)
          ADD_FAILURE() << std::hex << "U+" << static_cast<unsigned>(c) << ": squish " << gpt2_char_class(c)
                        << (is_hf_numeric(c) ? " D" : " -") << ", HF " << cls << " " << digit;
      }
    }
  }
  EXPECT_EQ(expected_next, 0x110000u);
  EXPECT_EQ(bad, 0);
}

// A temporary directory holding given files, removed when the test ends.
struct ScratchDir {
  std::string dir;
  explicit ScratchDir(const std::string& tag) : dir(test::temp_dir("bpe_" + tag)) {}
  ScratchDir& file(const std::string& name, const std::string& content) {
    std::ofstream(dir + "/" + name, std::ios::binary) << content;
    return *this;
  }
  ~ScratchDir() { std::filesystem::remove_all(dir); }
};

template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "another exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected an exception";
  return {};
}

// HF's own tokenizer.json for OPT (TemplateProcessing adding "</s>", merges as pairs) and SmolLM2 (Digits then
// ByteLevel), refilled with the vocabulary and merges they were written from.
TEST(BpeLoaders, TokenizerJsonAsHfWritesIt) {
  const auto skeletons = golden("tokenizer_json_skeletons.json.gz");
  nlohmann::json opt = skeletons["opt"];
  opt["model"]["vocab"] = nlohmann::json::parse(read_file(shared("models/opt-125m-tokenizer/vocab.json")));
  std::istringstream merges(read_file(shared("models/opt-125m-tokenizer/merges.txt")));
  for (std::string line; std::getline(merges, line);)
    if (line.rfind("#version", 0) != 0)
      opt["model"]["merges"].push_back({line.substr(0, line.find(' ')), line.substr(line.find(' ') + 1)});
  ScratchDir opt_dir("opt_json");
  opt_dir.file("tokenizer.json", opt.dump());
  const auto opt_tok = load_tokenizer(opt_dir.dir);
  const auto* opt_bpe = dynamic_cast<const ByteLevelBpeTokenizer*>(opt_tok.get());
  ASSERT_NE(opt_bpe, nullptr);
  EXPECT_EQ(check_crafted(*opt_bpe, "opt", "opt tokenizer.json"), 0);

  nlohmann::json smol = skeletons["smollm2"];
  const auto& meta = smollm2_metadata();
  for (size_t i = 0; i < meta["tokenizer.ggml.tokens"].size(); ++i)
    smol["model"]["vocab"][meta["tokenizer.ggml.tokens"][i].get<std::string>()] = i;
  smol["model"]["merges"] = meta["tokenizer.ggml.merges"];  // the "a b" form
  ScratchDir smol_dir("smol_json");
  smol_dir.file("tokenizer.json", smol.dump());
  const auto smol_tok = bpe_tokenizer_from_tokenizer_json(smol_dir.dir);
  EXPECT_EQ(check_crafted(*smol_tok, "smollm2", "smollm2 tokenizer.json"), 0);
}

// What squish export and quantize write beside a model whose tokenizer was a GGUF's metadata: HF's
// tokenizer.json and tokenizer_config.json, read back with HF's ids and special tokens.
TEST(BpeLoaders, GgufTokenizerWrittenAsHfFilesGivesHfIds) {
  const ByteLevelBpeSpec spec = bpe_spec_from_gguf_metadata(smollm2_metadata(), "smollm2_gguf_tokenizer.json");
  ScratchDir dir("gguf_as_hf");
  dir.file("tokenizer.json", bpe_tokenizer_json(spec).dump());
  dir.file("tokenizer_config.json", bpe_tokenizer_config(spec).dump());
  const auto loaded = load_tokenizer(dir.dir);
  const auto* bpe = dynamic_cast<const ByteLevelBpeTokenizer*>(loaded.get());
  ASSERT_NE(bpe, nullptr);
  EXPECT_EQ(check_crafted(*bpe, "smollm2", "smollm2 written as tokenizer.json"), 0);
  const ByteLevelBpeTokenizer& original = tokenizer("smollm2");
  EXPECT_EQ(bpe->bos_id(), original.bos_id());
  EXPECT_EQ(bpe->eos_id(), original.eos_id());
  EXPECT_EQ(bpe->pad_id(), original.pad_id());
  EXPECT_EQ(bpe->vocab_size(), original.vocab_size());
}

TEST(BpeLoaders, LoadTokenizerDispatches) {
  const auto gpt2 = load_tokenizer(shared("models/gpt2-tokenizer"));
  EXPECT_FALSE(gpt2->uses_token_type_ids());
  EXPECT_EQ(gpt2->encode("Hello world", 512).input_ids, (std::vector<int32_t>{15496, 995}));
  EXPECT_EQ(gpt2->encode("Hello world", 512).token_type_ids, (std::vector<int32_t>{0, 0}));
  EXPECT_EQ(gpt2->bos_id(), 50256);
  EXPECT_EQ(gpt2->eos_id(), 50256);
  EXPECT_EQ(gpt2->vocab_size(), 50257u);
  EXPECT_EQ(gpt2->min_length(false), 0);
  const auto opt = load_tokenizer(shared("models/opt-125m-tokenizer"));
  EXPECT_EQ(opt->encode("Hello world", 512).input_ids, (std::vector<int32_t>{2, 31414, 232}));
  EXPECT_EQ(opt->encode("Hello world", 2).input_ids, (std::vector<int32_t>{2, 31414}));
  EXPECT_TRUE(opt->encode("Hello world", 2).truncated);
  EXPECT_EQ(opt->encode_ids("Hello world", false), (std::vector<int32_t>{31414, 232}));
  EXPECT_EQ(opt->bos_id(), 2);
  EXPECT_EQ(opt->eos_id(), 2);
  EXPECT_EQ(opt->pad_id(), 1);
  EXPECT_EQ(opt->min_length(false), 1);
  EXPECT_THROW(opt->encode("x", 0), UsageError);
  // transformers' pair: "</s> a </s> b", the second part of token type 1.
  const Encoding pair = opt->encode_pair("Hello", "world", 512);
  EXPECT_EQ(pair.input_ids, (std::vector<int32_t>{2, 31414, 2, 8331}));
  EXPECT_EQ(pair.token_type_ids, (std::vector<int32_t>{0, 0, 1, 1}));
  EXPECT_TRUE(load_tokenizer(shared("models/bert-base-uncased-vocab"))->uses_token_type_ids());
  const auto smol = bpe_tokenizer_from_gguf_metadata(smollm2_metadata(), "x.gguf");
  EXPECT_EQ(smol->bos_id(), 1);
  EXPECT_EQ(smol->eos_id(), 2);
  EXPECT_EQ(smol->pad_id(), 2);
  EXPECT_EQ(smol->vocab_size(), 49152u);
  EXPECT_EQ(smol->encode_ids("<|im_start|>x", true), smol->encode_ids("<|im_start|>x", false));  // no BOS added

  ScratchDir empty("empty");
  const std::string msg = error_of<IoError>([&] { load_tokenizer(empty.dir); });
  for (const char* looked_for : {"vocab.txt", "tokenizer.json", "vocab.json + merges.txt", ".gguf"})
    EXPECT_NE(msg.find(looked_for), std::string::npos) << msg;
  ScratchDir two("two_gguf");
  two.file("a.gguf", "GGUF").file("b.gguf", "GGUF");
  EXPECT_NE(error_of<UsageError>([&] { load_tokenizer(two.dir); }).find("2 .gguf files"), std::string::npos);
}

// The real GGUF (tools/fetch_smollm2.sh): the file, and the folder holding only it.
TEST(BpeLoaders, RealSmollm2Gguf) {
  const std::string path = test::smollm2_gguf();
  const std::string dir = std::filesystem::path(path).parent_path().string();
  ASSERT_TRUE(file_exists(path)) << "no SmolLM2 GGUF at " << path
                                 << ": run `bash tools/fetch_smollm2.sh` (or set SQUISH_SMOLLM2_GGUF)";
  for (const std::string& where : {path, dir}) {
    const auto t = load_tokenizer(where);
    const auto* bpe = dynamic_cast<const ByteLevelBpeTokenizer*>(t.get());
    ASSERT_NE(bpe, nullptr) << where;
    EXPECT_EQ(check_crafted(*bpe, "smollm2", where), 0);
  }
}

const std::string kTinyVocab = R"({"a": 0, "b": 1, "ab": 2, "c": 3})";

TEST(BpeLoaders, ErrorsNameTheFileAndPlace) {
  struct Case {
    std::string vocab, merges, expected;
  };
  for (const Case& c : std::vector<Case>{
           {kTinyVocab, "#version: 0.2\na b\nb x\n", "merges.txt:3: the merge \"b x\" needs the token \"x\""},
           {kTinyVocab, "a b\na b c\n", "merges.txt:2: expected two tokens separated by one space"},
           {kTinyVocab, "b c\n", "merges.txt:1: the merge \"b c\" needs the token \"bc\""},
           {"[1, 2]", "a b\n", "vocab.json: expected a JSON object"},
           {R"({"a": -1})", "", "vocab.json \"a\": expected a token id"},
           {R"({"a": 0, "b": 0})", "", "have the same id 0"},
           {R"({"a": 0)", "", "vocab.json"},
       }) {
    ScratchDir d("vocab_merges");
    d.file("vocab.json", c.vocab).file("merges.txt", c.merges);
    const std::string msg = error_of<FormatError>([&] { bpe_tokenizer_from_vocab_merges(d.dir); });
    EXPECT_NE(msg.find(c.expected), std::string::npos) << msg;
    EXPECT_NE(msg.find(d.dir), std::string::npos) << msg;
  }
  ScratchDir roberta("roberta");
  roberta.file("vocab.json", kTinyVocab).file("merges.txt", "a b\n");
  roberta.file("tokenizer_config.json", R"({"tokenizer_class": "RobertaTokenizer"})");
  EXPECT_NE(error_of<ConfigError>([&] { load_tokenizer(roberta.dir); }).find("RobertaTokenizer"), std::string::npos);

  const nlohmann::json good = {
      {"model", {{"type", "BPE"}, {"vocab", nlohmann::json::parse(kTinyVocab)}, {"merges", {"a b"}}}},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
      {"added_tokens", nlohmann::json::array()}};
  auto with = [&](const std::string& pointer, const nlohmann::json& value) {
    nlohmann::json j = good;
    j[nlohmann::json::json_pointer(pointer)] = value;
    return j.dump();
  };
  {
    ScratchDir d("json_ok");
    d.file("tokenizer.json", good.dump());
    // The space's "Ġ" is not in the vocabulary and there is no unknown token: HF drops it.
    EXPECT_EQ(load_tokenizer(d.dir)->encode_ids("abab c", false), (std::vector<int32_t>{2, 2, 3}));
  }
  struct JsonCase {
    std::string text, expected;
    bool config = false;  // ConfigError rather than FormatError
  };
  for (const JsonCase& c : std::vector<JsonCase>{
           {"{\"model\": ", "tokenizer.json: "},
           {with("/model/merges", {"a b", "b q"}), "model.merges[1]: the merge \"b q\" needs the token \"q\""},
           {with("/model/merges", nlohmann::json::array({nlohmann::json::array({"a", "b", "c"})})),
            "model.merges[0]: expected \"a b\""},
           {with("/model/vocab/a", "zero"), "model.vocab \"a\": expected a token id"},
           {with("/added_tokens", {{{"id", 9}}}), "added_tokens[0]: no \"content\""},
           {with("/model/type", "WordPiece"), "of type \"WordPiece\"", true},
           {with("/normalizer", {{"type", "NFC"}}), "has a normalizer", true},
           {with("/pre_tokenizer", {{"type", "Metaspace"}}), "pre_tokenizer is Metaspace", true},
           {with("/post_processor", {{"type", "Foo"}}), "post_processor is Foo", true},
           {with("/added_tokens", {{{"id", 3}, {"content", "c"}, {"single_word", true}}}), "single_word", true},
       }) {
    ScratchDir d("json_bad");
    d.file("tokenizer.json", c.text);
    const std::string msg = c.config ? error_of<ConfigError>([&] { load_tokenizer(d.dir); })
                                     : error_of<FormatError>([&] { load_tokenizer(d.dir); });
    EXPECT_NE(msg.find(c.expected), std::string::npos) << msg;
    EXPECT_NE(msg.find(d.dir + "/tokenizer.json"), std::string::npos) << msg;
  }

  const nlohmann::json meta = {{"tokenizer.ggml.model", "gpt2"},
                               {"tokenizer.ggml.pre", "smollm"},
                               {"tokenizer.ggml.tokens", {"a", "b", "ab"}},
                               {"tokenizer.ggml.merges", {"a b"}}};
  EXPECT_EQ(bpe_tokenizer_from_gguf_metadata(meta, "m.gguf")->encode_ids("ab", false), (std::vector<int32_t>{2}));
  auto meta_with = [&](const std::string& key, const nlohmann::json& value) {
    nlohmann::json j = meta;
    j[key] = value;
    return j;
  };
  EXPECT_NE(error_of<ConfigError>([&] {
              bpe_tokenizer_from_gguf_metadata(meta_with("tokenizer.ggml.pre", "llama3"), "m.gguf");
            }).find("m.gguf: tokenizer.ggml.pre is \"llama3\""),
            std::string::npos);
  EXPECT_NE(error_of<ConfigError>([&] {
              bpe_tokenizer_from_gguf_metadata(meta_with("tokenizer.ggml.model", "llama"), "m.gguf");
            }).find("\"llama\""),
            std::string::npos);
  EXPECT_NE(error_of<FormatError>([&] {
              bpe_tokenizer_from_gguf_metadata(meta_with("tokenizer.ggml.merges", {"a q"}), "m.gguf");
            }).find("m.gguf: tokenizer.ggml.merges[0]: the merge \"a q\""),
            std::string::npos);
  EXPECT_NE(error_of<FormatError>([&] {
              bpe_tokenizer_from_gguf_metadata(meta_with("tokenizer.ggml.token_type", {1}), "m.gguf");
            }).find("token_type has 1 entries for 3 tokens"),
            std::string::npos);
  EXPECT_NE(error_of<FormatError>([&] {
              bpe_tokenizer_from_gguf_metadata(meta_with("tokenizer.ggml.bos_token_id", 7), "m.gguf");
            }).find("bos_token_id 7 is outside the 3 tokens"),
            std::string::npos);
  EXPECT_NE(error_of<FormatError>([&] {
              bpe_tokenizer_from_gguf_metadata(meta_with("tokenizer.ggml.add_bos_token", true), "m.gguf");
            }).find("add_bos_token is true but there is no such token"),
            std::string::npos);
}

TEST(BpeTokenizer, RandomBytesNeverCrash) {
  std::mt19937 rng(99);
  std::uniform_int_distribution<int> len(0, 48), byte(0, 255);
  for (int i = 0; i < 5000; ++i) {
    std::string s(static_cast<size_t>(len(rng)), '\0');
    for (char& ch : s) ch = static_cast<char>(i % 2 ? byte(rng) : " a1'\n<>|/s"[byte(rng) % 11]);
    for (const char* name : kNames) {
      const ByteLevelBpeTokenizer& t = tokenizer(name);
      for (const int32_t id : t.encode_ids(s, true)) ASSERT_TRUE(id >= 0 && static_cast<size_t>(id) < t.vocab_size());
    }
  }
}

}  // namespace
}  // namespace squish
