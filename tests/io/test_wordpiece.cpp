// WordPieceTokenizer against goldens written by HF tokenizers (tools/make_tokenizer_goldens.py):
// real data sets read from shared/, hand-made hard strings, every code point, and the error paths.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "core/error.h"
#include "core/file_util.h"
#include "io/tokenizer/wordpiece.h"
#include "test_paths.h"

namespace squish {
namespace {

const char* const kModelDirs[] = {"models/bert-base-uncased-vocab", "models/bert-tiny-sst2-scratch"};

std::string shared(const std::string& rel) { return test::shared_dir() + "/" + rel; }

nlohmann::json golden(const std::string& name) {
  return nlohmann::json::parse(read_maybe_gzip(test::fixtures_dir() + "/tokenizer/" + name));
}

const WordPieceTokenizer& uncased(int which = 0) {
  static const WordPieceTokenizer t0 = WordPieceTokenizer::from_model_dir(shared(kModelDirs[0]));
  static const WordPieceTokenizer t1 = WordPieceTokenizer::from_model_dir(shared(kModelDirs[1]));
  return which == 0 ? t0 : t1;
}

const WordPieceTokenizer& cased() {
  static const WordPieceTokenizer t = [] {
    WordPieceOptions o;
    o.lowercase = false;
    o.strip_accents = false;
    return WordPieceTokenizer::from_vocab_file(shared(kModelDirs[0]) + "/vocab.txt", o);
  }();
  return t;
}

// The tokens around the first difference, so a failure says what went wrong, not just where.
std::string describe(const WordPieceTokenizer& t, const std::vector<int32_t>& got, const std::vector<int32_t>& want) {
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  std::ostringstream s;
  s << "first difference at " << i << " (lengths " << got.size() << " vs " << want.size() << "): got";
  for (size_t k = i; k < std::min(got.size(), i + 4); ++k) s << " " << t.id_to_token(got[k]);
  s << " | want";
  for (size_t k = i; k < std::min(want.size(), i + 4); ++k) s << " " << t.id_to_token(want[k]);
  return s.str();
}

// Counts failures instead of stopping, so one run shows how widespread a mismatch is.
int expect_encoding(const WordPieceTokenizer& t, const Encoding& got, const nlohmann::json& want,
                    const std::string& what) {
  const auto ids = want["ids"].get<std::vector<int32_t>>();
  const auto types = want["type_ids"].get<std::vector<int32_t>>();
  const auto mask = want["attention_mask"].get<std::vector<int32_t>>();
  if (got.input_ids == ids && got.token_type_ids == types && got.attention_mask == mask) return 0;
  ADD_FAILURE() << what << ": "
                << (got.input_ids != ids ? describe(t, got.input_ids, ids) : "ids equal; token types or mask differ");
  return 1;
}

std::vector<std::vector<std::string>> read_tsv_rows(const std::string& path) {
  const std::string text = read_file(path);
  std::vector<std::vector<std::string>> rows;
  size_t pos = text.find('\n') + 1;  // header
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::vector<std::string> cols;
    std::string_view line(text.data() + pos, eol - pos);
    for (size_t tab; (tab = line.find('\t')) != std::string_view::npos; line.remove_prefix(tab + 1))
      cols.emplace_back(line.substr(0, tab));
    cols.emplace_back(line);
    rows.push_back(std::move(cols));
    pos = eol + 1;
  }
  return rows;
}

std::vector<std::pair<std::string, int>> read_imdb(const std::string& path) {
  const std::string text = read_maybe_gzip(path);
  std::vector<std::pair<std::string, int>> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    out.emplace_back(j["text"].get<std::string>(), j["label"].get<int>());
  }
  return out;
}

TEST(WordPieceGolden, Sst2DevEverySentence) {
  const auto g = golden("sst2_dev.json.gz");
  const auto rows = read_tsv_rows(shared("data/glue/sst2/dev.tsv"));
  ASSERT_EQ(rows.size(), 872u);
  ASSERT_EQ(g["cases"].size(), rows.size());
  for (int m = 0; m < 2; ++m) {
    int bad = 0;
    for (size_t i = 0; i < rows.size(); ++i)
      bad += expect_encoding(uncased(m), uncased(m).encode(rows[i].at(0), 128), g["cases"][i],
                             std::string(kModelDirs[m]) + " sst2 dev row " + std::to_string(i + 1));
    EXPECT_EQ(bad, 0);
  }
}

TEST(WordPieceGolden, MrpcDevEveryPairAt128And32) {
  const auto g = golden("mrpc_dev.json.gz");
  const auto rows = read_tsv_rows(shared("data/glue/mrpc/dev.tsv"));
  ASSERT_EQ(rows.size(), 408u);
  ASSERT_EQ(g["cases"].size(), 2 * rows.size());
  int bad = 0, truncated = 0;
  for (size_t k = 0; k < g["cases"].size(); ++k) {
    const auto& row = rows[k % rows.size()];
    const int max_length = g["cases"][k]["max_length"].get<int>();
    const Encoding e = uncased().encode_pair(row.at(3), row.at(4), max_length);
    truncated += static_cast<int>(e.input_ids.size()) == max_length;
    bad += expect_encoding(
        uncased(), e, g["cases"][k],
        "mrpc dev row " + std::to_string(k % rows.size() + 1) + " max_length " + std::to_string(max_length));
  }
  EXPECT_EQ(bad, 0);
  EXPECT_GT(truncated, 100);  // max_length 32 must really exercise pair truncation
}

TEST(WordPieceGolden, Imdb500ReviewsAt512AndUntruncated) {
  const auto g = golden("imdb_test.json.gz");
  const auto all = read_imdb(shared("data/imdb/test.jsonl.gz"));
  std::vector<std::string> texts;
  for (int label : {0, 1}) {
    int n = 0;
    for (const auto& [text, l] : all)
      if (l == label && n < 250) texts.push_back(text), ++n;
  }
  ASSERT_EQ(texts.size(), g["cases"].size());
  int bad = 0, long_reviews = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto& want = g["cases"][i];
    bad += expect_encoding(uncased(), uncased().encode(texts[i], 512), want, "imdb review " + std::to_string(i));
    const auto ids = uncased().tokenize(texts[i]);
    const auto want_ids = want["tokenize"].get<std::vector<int32_t>>();
    long_reviews += ids.size() > 510;
    if (ids != want_ids) {
      ADD_FAILURE() << "imdb review " << i << " untruncated: " << describe(uncased(), ids, want_ids);
      ++bad;
    }
  }
  EXPECT_EQ(bad, 0);
  EXPECT_GT(long_reviews, 10);
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

TEST(WordPieceGolden, HardStringsUncasedAndCased) {
  const auto g = golden("hard_strings.json.gz");
  int bad = 0, n_cased = 0, n_bytes = 0;
  for (const auto& c : g["cases"]) {
    const bool is_cased = c["setting"] == "cased";
    n_cased += is_cased;
    const WordPieceTokenizer& t = is_cased ? cased() : uncased();
    std::string text;
    if (c.contains("bytes_hex")) {
      text = from_hex(c["bytes_hex"].get<std::string>());  // raw ill-formed UTF-8, not HF's decoded text
      ++n_bytes;
    } else {
      text = c["text"].get<std::string>();
    }
    const int max_length = c["max_length"].get<int>();
    const std::string what = c["name"].get<std::string>() + " (" + c["setting"].get<std::string>() + ", max_length " +
                             std::to_string(max_length) + ")";
    const Encoding e = c.contains("text_b") ? t.encode_pair(text, c["text_b"].get<std::string>(), max_length)
                                            : t.encode(text, max_length);
    bad += expect_encoding(t, e, c, what);
    if (c.contains("tokenize") && t.tokenize(text) != c["tokenize"].get<std::vector<int32_t>>()) {
      ADD_FAILURE() << what << ": tokenize() differs";
      ++bad;
    }
  }
  EXPECT_EQ(bad, 0);
  EXPECT_GT(n_cased, 500);
  EXPECT_GT(n_bytes, 10);
}

// HF's per-step behaviour on every code point; see the header of codepoints.txt.gz for the format.
TEST(WordPieceGolden, EveryCodePointNormalizesAndSplitsLikeHf) {
  const BertNormalizer clean({true, false, false, false}), cjk({false, true, false, false}),
      strip({false, false, true, false}), lower({false, false, false, true}), none({false, false, false, false});
  struct Want {
    char clean = 'K', cjk = '-';
    std::string strip = "=", lower = "=";
    char split = 'N';
  };
  std::vector<std::pair<std::pair<char32_t, char32_t>, Want>> listed;
  std::istringstream in(read_maybe_gzip(test::fixtures_dir() + "/tokenizer/codepoints.txt.gz"));
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string range;
    Want w;
    ls >> range >> w.clean >> w.cjk >> w.strip >> w.lower >> w.split;
    const size_t dash = range.find('-');
    const auto first = static_cast<char32_t>(std::stoul(range.substr(0, dash), nullptr, 16));
    const auto last =
        dash == std::string::npos ? first : static_cast<char32_t>(std::stoul(range.substr(dash + 1), nullptr, 16));
    listed.push_back({{first, last}, w});
  }
  ASSERT_GT(listed.size(), 10000u);
  auto hex = [](char32_t c, const std::string& s) {
    std::string u;
    append_utf8(u, c);
    if (s == u) return std::string("=");
    std::string out;
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    while (p < reinterpret_cast<const unsigned char*>(s.data()) + s.size()) {
      char buf[16];
      std::snprintf(
          buf, sizeof buf, out.empty() ? "%X" : ",%X",
          static_cast<unsigned>(decode_utf8(&p, reinterpret_cast<const unsigned char*>(s.data()) + s.size())));
      out += buf;
    }
    return out.empty() ? std::string("_") : out;
  };
  size_t next = 0;
  int bad = 0;
  BertWords words;
  for (char32_t c = 0; c < 0x110000; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    while (next < listed.size() && listed[next].first.second < c) ++next;
    const Want want = next < listed.size() && listed[next].first.first <= c ? listed[next].second : Want{};
    std::string s;
    append_utf8(s, c);
    const std::string cl = clean.normalize(s);
    Want got;
    got.clean = cl.empty() ? 'R' : (cl == " " && c != U' ') ? 'W' : 'K';
    got.cjk = cjk.normalize(s) != s ? 'C' : '-';
    got.strip = hex(c, strip.normalize(s));
    got.lower = hex(c, lower.normalize(s));
    words.clear();
    none.split_words("a" + s + "b", words);
    got.split = words.words.size() == 1 ? 'N' : words.words.size() == 2 ? 'S' : 'P';
    if (got.clean != want.clean || got.cjk != want.cjk || got.strip != want.strip || got.lower != want.lower ||
        got.split != want.split) {
      if (++bad <= 20) {
        ADD_FAILURE() << std::hex << "U+" << static_cast<unsigned>(c) << ": got " << got.clean << " " << got.cjk << " "
                      << got.strip << " " << got.lower << " " << got.split << ", HF " << want.clean << " " << want.cjk
                      << " " << want.strip << " " << want.lower << " " << want.split;
      }
    }
  }
  EXPECT_EQ(bad, 0);
}

TEST(WordPiece, LoadsModelDirectories) {
  for (int m = 0; m < 2; ++m) {
    const auto& t = uncased(m);
    EXPECT_EQ(t.vocab_size(), 30522u);
    EXPECT_EQ(t.pad_id(), 0);
    EXPECT_EQ(t.unk_id(), 100);
    EXPECT_EQ(t.cls_id(), 101);
    EXPECT_EQ(t.sep_id(), 102);
    EXPECT_EQ(t.mask_id(), 103);
    EXPECT_TRUE(t.options().lowercase);
    EXPECT_TRUE(t.options().strip_accents);
  }
  EXPECT_EQ(uncased().tokenize("Hello, WORLD!"), (std::vector<int32_t>{7592, 1010, 2088, 999}));
  EXPECT_EQ(uncased().id_to_token(7592), "hello");
  EXPECT_THROW(uncased().id_to_token(30522), UsageError);
}

// Temporary model directories holding given files, removed when the test ends.
struct ScratchDirs {
  std::vector<std::string> dirs;
  std::string make(const std::string& tag, const std::string& vocab, const std::string* config) {
    dirs.push_back(test::temp_dir("wordpiece_" + tag));
    if (!vocab.empty()) std::ofstream(dirs.back() + "/vocab.txt") << vocab;
    if (config) std::ofstream(dirs.back() + "/tokenizer_config.json") << *config;
    return dirs.back();
  }
  ~ScratchDirs() {
    for (const auto& d : dirs) std::filesystem::remove_all(d);
  }
};

template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return {};
}

const std::string kTinyVocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n##s\n";

TEST(WordPiece, ErrorsNameTheFile) {
  ScratchDirs scratch;
  const std::string ok_cfg = R"({"do_lower_case": false})";
  std::string dir = scratch.make("novocab", "", &ok_cfg);
  EXPECT_NE(error_of<IoError>([&] { WordPieceTokenizer::from_model_dir(dir); }).find(dir + "/vocab.txt"),
            std::string::npos);
  dir = scratch.make("nocfg", kTinyVocab, nullptr);
  EXPECT_NE(error_of<IoError>([&] { WordPieceTokenizer::from_model_dir(dir); }).find("tokenizer_config.json"),
            std::string::npos);
  for (const std::string bad : {R"({"do_lower_case": tru)", R"([1, 2])", R"({"do_lower_case": "yes"})",
                                R"({"strip_accents": 1})", R"({"unk_token": 5})"}) {
    dir = scratch.make("badcfg", kTinyVocab, &bad);
    const std::string msg = error_of<FormatError>([&] { WordPieceTokenizer::from_model_dir(dir); });
    EXPECT_NE(msg.find(dir + "/tokenizer_config.json"), std::string::npos) << msg;
  }
  const std::pair<std::string, std::string> bad_vocabs[] = {
      {"[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nhello\n", ":6: duplicate token \"hello\", first on line 5"},
      {"[PAD]\n[UNK]\n\n[CLS]\n[SEP]\n", ":3: empty token"},
      {"[PAD]\n[UNK]\n[SEP]\n", "\"[CLS]\" is not in the vocabulary"},
      {"\n", ":1: empty token"},
  };
  for (const auto& [vocab, expected] : bad_vocabs) {
    dir = scratch.make("badvocab", vocab, &ok_cfg);
    const std::string msg = error_of<FormatError>([&] { WordPieceTokenizer::from_model_dir(dir); });
    EXPECT_NE(msg.find(dir + "/vocab.txt"), std::string::npos) << msg;
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
  }
  dir = scratch.make("emptyvocab", "", &ok_cfg);
  std::ofstream(dir + "/vocab.txt").close();
  EXPECT_NE(error_of<FormatError>([&] { WordPieceTokenizer::from_model_dir(dir); }).find("empty vocabulary"),
            std::string::npos);
}

TEST(WordPiece, ConfigOptionsAndSpecialTokenNames) {
  ScratchDirs scratch;
  const std::string cfg = R"({"do_lower_case": false, "strip_accents": null, "unk_token": {"content": "<unk>"}})";
  const auto t =
      WordPieceTokenizer::from_model_dir(scratch.make("cfg", "[PAD]\n<unk>\n[CLS]\n[SEP]\nhello\n##s\n", &cfg));
  EXPECT_FALSE(t.options().lowercase);
  EXPECT_FALSE(t.options().strip_accents);  // null follows do_lower_case
  EXPECT_EQ(t.unk_id(), 1);
  EXPECT_EQ(t.mask_id(), -1);
  EXPECT_EQ(t.tokenize("hellos Hello <unk>[SEP]"), (std::vector<int32_t>{4, 5, 1, 1, 3}));
}

TEST(WordPiece, MaxLengthBelowSpecialTokensIsAUsageError) {
  EXPECT_THROW(uncased().encode("hello", 1), UsageError);
  EXPECT_THROW(uncased().encode_pair("a", "b", 2), UsageError);
  EXPECT_EQ(uncased().encode("hello world", 2).input_ids, (std::vector<int32_t>{101, 102}));
  EXPECT_EQ(uncased().encode("hello world", kNoTruncation).input_ids.size(), 4u);
}

TEST(WordPiece, RandomBytesNeverCrash) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> len(0, 64), byte(0, 255);
  for (int i = 0; i < 20000; ++i) {
    std::string s(static_cast<size_t>(len(rng)), '\0');
    for (char& ch : s) ch = static_cast<char>(i % 2 ? byte(rng) : 0x80 + byte(rng) % 0x80);
    for (const WordPieceTokenizer* t : {&uncased(), &cased()}) {
      const Encoding e = t->encode_pair(s, s.substr(s.size() / 2), 64);
      ASSERT_LE(e.input_ids.size(), 64u);
      for (int32_t id : e.input_ids) ASSERT_TRUE(id >= 0 && static_cast<size_t>(id) < t->vocab_size());
    }
  }
}

TEST(WordPiece, ImdbTestSetThroughput) {
  const auto all = read_imdb(shared("data/imdb/test.jsonl.gz"));
  ASSERT_EQ(all.size(), 25000u);
  size_t tokens = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& [text, label] : all) tokens += uncased().tokenize(text).size();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ timing   ] tokenized 25,000 IMDB test reviews (%zu tokens) in %.2f s\n", tokens, s);
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(s, 20.0) << "far slower than expected (a few seconds)";
#endif
}

}  // namespace
}  // namespace squish
