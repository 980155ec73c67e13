#include "io/tokenizer/wordpiece.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <utility>

#include "core/error.h"
#include "core/file_util.h"
#include "io/json_error.h"

namespace squish {

namespace {

constexpr std::string_view kContinuation = "##";

struct ViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using IdMap = std::unordered_map<std::string_view, int32_t, ViewHash, std::equal_to<>>;

bool is_utf8_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// A tokenizer_config.json value that must be a bool when present.
bool config_bool(const nlohmann::json& cfg, const char* key, bool fallback, const std::string& path) {
  const auto it = cfg.find(key);
  if (it == cfg.end()) return fallback;
  if (!it->is_boolean()) throw FormatError(path + ": \"" + key + "\" must be true or false, found " + it->dump());
  return it->get<bool>();
}

// Special tokens are written either as a string or as an AddedToken object {"content": ...}.
void config_token(const nlohmann::json& cfg, const char* key, std::string& name, const std::string& path) {
  const auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return;
  if (it->is_string()) {
    name = it->get<std::string>();
  } else if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
    name = (*it)["content"].get<std::string>();
  } else {
    throw FormatError(path + ": \"" + key + "\" must be a string or {\"content\": string}, found " + it->dump());
  }
  if (name.empty()) throw FormatError(path + ": \"" + key + "\" is an empty string");
}

}  // namespace

struct WordPieceTokenizer::Vocab {
  std::string arena;              // every token back to back; the maps view into it
  std::vector<uint32_t> offsets;  // token i is arena[offsets[i], offsets[i + 1])
  IdMap word_start;               // every token, for the first piece of a word
  IdMap continuation;             // "##xyz" keyed by "xyz", so lookups need no concatenation
  size_t max_start_bytes = 0, max_continuation_bytes = 0;

  std::string_view token(size_t i) const {
    return std::string_view(arena).substr(offsets[i], offsets[i + 1] - offsets[i]);
  }
  int32_t find(std::string_view s) const {
    const auto it = word_start.find(s);
    return it == word_start.end() ? -1 : it->second;
  }

  static std::unique_ptr<Vocab> read(const std::string& path) {
    if (!file_exists(path)) throw IoError(path + ": no such file (a WordPiece vocabulary, one token per line)");
    const std::string text = read_file(path);
    auto v = std::make_unique<Vocab>();
    v->arena.reserve(text.size());
    v->offsets.push_back(0);
    size_t pos = 0;
    size_t line = 0;
    while (pos < text.size()) {
      size_t eol = text.find('\n', pos);
      if (eol == std::string::npos) eol = text.size();
      std::string_view tok(text.data() + pos, eol - pos);
      ++line;
      // HF's WordPiece::read_file trims trailing whitespace (and with it the \r of CRLF files).
      while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\t' || tok.back() == '\r' || tok.back() == '\v' ||
                              tok.back() == '\f'))
        tok.remove_suffix(1);
      if (tok.empty())
        throw FormatError(path + ":" + std::to_string(line) + ": empty token (every line must hold one token)");
      v->arena.append(tok);
      v->offsets.push_back(static_cast<uint32_t>(v->arena.size()));
      pos = eol + 1;
    }
    if (line == 0) throw FormatError(path + ": empty vocabulary (expected one token per line)");
    // Views are taken only now that the arena no longer grows.
    v->word_start.reserve(line * 2);
    for (size_t i = 0; i < line; ++i) {
      const std::string_view tok = v->token(i);
      const auto [it, inserted] = v->word_start.emplace(tok, static_cast<int32_t>(i));
      if (!inserted) {
        throw FormatError(path + ":" + std::to_string(i + 1) + ": duplicate token \"" + std::string(tok) +
                          "\", first on line " + std::to_string(it->second + 1));
      }
      v->max_start_bytes = std::max(v->max_start_bytes, tok.size());
      if (tok.size() > kContinuation.size() && tok.substr(0, kContinuation.size()) == kContinuation) {
        const std::string_view rest = tok.substr(kContinuation.size());
        v->continuation.emplace(rest, static_cast<int32_t>(i));
        v->max_continuation_bytes = std::max(v->max_continuation_bytes, rest.size());
      }
    }
    return v;
  }
};

WordPieceTokenizer::WordPieceTokenizer(WordPieceTokenizer&&) noexcept = default;
WordPieceTokenizer& WordPieceTokenizer::operator=(WordPieceTokenizer&&) noexcept = default;
WordPieceTokenizer::~WordPieceTokenizer() = default;

WordPieceTokenizer::WordPieceTokenizer(std::unique_ptr<Vocab> vocab, const WordPieceOptions& options,
                                       const SpecialTokenNames& names, const std::string& source)
    : vocab_(std::move(vocab)),
      options_(options),
      normalizer_(BertNormalizerOptions{options.clean_text, options.tokenize_chinese_chars, options.strip_accents,
                                        options.lowercase}) {
  if (options_.max_input_chars_per_word < 1) {
    throw UsageError("WordPiece max_input_chars_per_word must be at least 1, got " +
                     std::to_string(options_.max_input_chars_per_word));
  }
  auto required = [&](const std::string& name, const char* role) {
    const int32_t id = vocab_->find(name);
    if (id < 0) throw FormatError(source + ": the " + role + " token \"" + name + "\" is not in the vocabulary");
    return id;
  };
  unk_id_ = required(names.unk, "unknown");
  cls_id_ = required(names.cls, "classifier");
  sep_id_ = required(names.sep, "separator");
  pad_id_ = required(names.pad, "padding");
  mask_id_ = vocab_->find(names.mask);
  for (const auto& [name, id] :
       {std::pair{names.pad, pad_id_}, std::pair{names.unk, unk_id_}, std::pair{names.cls, cls_id_},
        std::pair{names.sep, sep_id_}, std::pair{names.mask, mask_id_}}) {
    if (id >= 0) {
      specials_.emplace_back(name, id);
      special_first_byte_[static_cast<unsigned char>(name.front())] = true;
    }
  }
}

WordPieceTokenizer WordPieceTokenizer::from_vocab_file(const std::string& vocab_path, const WordPieceOptions& options) {
  return WordPieceTokenizer(Vocab::read(vocab_path), options, SpecialTokenNames{}, vocab_path);
}

WordPieceTokenizer WordPieceTokenizer::from_model_dir(const std::string& dir) {
  const std::string vocab_path = dir + "/vocab.txt";
  const std::string config_path = dir + "/tokenizer_config.json";
  auto vocab = Vocab::read(vocab_path);
  if (!file_exists(config_path)) {
    throw IoError(config_path + ": no such file (needed to know whether the model lower-cases its input)");
  }
  nlohmann::json cfg;
  try {
    cfg = nlohmann::json::parse(read_file(config_path));
  } catch (const nlohmann::json::parse_error& e) {
    throw FormatError(config_path + ": not valid JSON: " + json_error_text(e));
  }
  if (!cfg.is_object()) throw FormatError(config_path + ": expected a JSON object, found " + cfg.type_name());
  WordPieceOptions opt;
  opt.lowercase = config_bool(cfg, "do_lower_case", true, config_path);
  // strip_accents null or absent means "whatever lowercase does", as in HF's BertNormalizer.
  const auto sa = cfg.find("strip_accents");
  if (sa == cfg.end() || sa->is_null()) {
    opt.strip_accents = opt.lowercase;
  } else if (sa->is_boolean()) {
    opt.strip_accents = sa->get<bool>();
  } else {
    throw FormatError(config_path + ": \"strip_accents\" must be true, false or null, found " + sa->dump());
  }
  opt.tokenize_chinese_chars = config_bool(cfg, "tokenize_chinese_chars", true, config_path);
  SpecialTokenNames names;
  config_token(cfg, "unk_token", names.unk, config_path);
  config_token(cfg, "sep_token", names.sep, config_path);
  config_token(cfg, "pad_token", names.pad, config_path);
  config_token(cfg, "cls_token", names.cls, config_path);
  config_token(cfg, "mask_token", names.mask, config_path);
  return WordPieceTokenizer(std::move(vocab), opt, names, vocab_path);
}

size_t WordPieceTokenizer::vocab_size() const { return vocab_->offsets.size() - 1; }

std::string_view WordPieceTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= vocab_size()) {
    throw UsageError("token id " + std::to_string(id) + " is outside the vocabulary of " +
                     std::to_string(vocab_size()) + " tokens");
  }
  return vocab_->token(static_cast<size_t>(id));
}

void WordPieceTokenizer::append_word_ids(std::string_view word, uint32_t chars, std::vector<int32_t>& ids) const {
  if (chars > static_cast<uint32_t>(options_.max_input_chars_per_word)) {
    ids.push_back(unk_id_);
    return;
  }
  const size_t first = ids.size();
  size_t start = 0;
  while (start < word.size()) {
    const IdMap& map = start == 0 ? vocab_->word_start : vocab_->continuation;
    const size_t longest = start == 0 ? vocab_->max_start_bytes : vocab_->max_continuation_bytes;
    // Longest match first; nothing longer than the longest token can match, so start there.
    size_t end = std::min(word.size(), start + longest);
    while (end < word.size() && end > start && is_utf8_continuation(word[end])) --end;
    int32_t found = -1;
    while (end > start) {
      const auto it = map.find(word.substr(start, end - start));
      if (it != map.end()) {
        found = it->second;
        break;
      }
      do --end;
      while (end > start && is_utf8_continuation(word[end]));
    }
    if (found < 0) {
      // One unknown piece makes the whole word [UNK], as in HF.
      ids.resize(first);
      ids.push_back(unk_id_);
      return;
    }
    ids.push_back(found);
    start = end;
  }
}

void WordPieceTokenizer::append_ids(std::string_view text, std::vector<int32_t>& ids) const {
  BertWords words;
  auto add_segment = [&](std::string_view segment) {
    if (segment.empty()) return;
    words.clear();
    normalizer_.split_words(segment, words);
    for (const BertWords::Word& w : words.words) append_word_ids(words.view(w), w.chars, ids);
  };
  // Special tokens written in the text are taken verbatim before any normalization (HF's added
  // tokens with normalized=false): "[SEP]" stays one token, "[sep]" does not. Leftmost match wins;
  // among matches at one position, the longest.
  size_t seg_start = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    if (!special_first_byte_[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    size_t best_len = 0;
    int32_t best_id = -1;
    for (const auto& [name, id] : specials_) {
      if (name.size() > best_len && text.compare(pos, name.size(), name) == 0) {
        best_len = name.size();
        best_id = id;
      }
    }
    if (best_id < 0) {
      ++pos;
      continue;
    }
    add_segment(text.substr(seg_start, pos - seg_start));
    ids.push_back(best_id);
    pos = seg_start = pos + best_len;
  }
  add_segment(text.substr(seg_start));
}

std::vector<int32_t> WordPieceTokenizer::tokenize(std::string_view text) const {
  std::vector<int32_t> ids;
  append_ids(text, ids);
  return ids;
}

std::vector<int32_t> WordPieceTokenizer::encode_ids(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> ids;
  if (add_special_tokens) ids.push_back(cls_id_);
  append_ids(text, ids);
  if (add_special_tokens) ids.push_back(sep_id_);
  return ids;
}

Encoding WordPieceTokenizer::encode(std::string_view text, int max_length) const {
  if (max_length < 2) {
    throw UsageError("max_length " + std::to_string(max_length) +
                     " leaves no room for [CLS] and [SEP] (need at least 2)");
  }
  Encoding e;
  e.input_ids.push_back(cls_id_);
  append_ids(text, e.input_ids);
  e.truncated = e.input_ids.size() > static_cast<size_t>(max_length) - 1;
  if (e.truncated) e.input_ids.resize(static_cast<size_t>(max_length) - 1);
  e.input_ids.push_back(sep_id_);
  e.token_type_ids.assign(e.input_ids.size(), 0);
  e.attention_mask.assign(e.input_ids.size(), 1);
  return e;
}

Encoding WordPieceTokenizer::encode_pair(std::string_view a, std::string_view b, int max_length) const {
  if (max_length < 3) {
    throw UsageError("max_length " + std::to_string(max_length) +
                     " leaves no room for [CLS] a [SEP] b [SEP] (need at least 3)");
  }
  std::vector<int32_t> ids_a = tokenize(a), ids_b = tokenize(b);
  const bool truncated = truncate_longest_first(ids_a, ids_b, static_cast<size_t>(max_length) - 3);
  Encoding e;
  e.truncated = truncated;
  e.input_ids.reserve(ids_a.size() + ids_b.size() + 3);
  e.input_ids.push_back(cls_id_);
  e.input_ids.insert(e.input_ids.end(), ids_a.begin(), ids_a.end());
  e.input_ids.push_back(sep_id_);
  e.token_type_ids.assign(e.input_ids.size(), 0);
  e.input_ids.insert(e.input_ids.end(), ids_b.begin(), ids_b.end());
  e.input_ids.push_back(sep_id_);
  e.token_type_ids.resize(e.input_ids.size(), 1);
  e.attention_mask.assign(e.input_ids.size(), 1);
  return e;
}

}  // namespace squish
