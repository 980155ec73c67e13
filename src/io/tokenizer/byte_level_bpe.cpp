#include "io/tokenizer/byte_level_bpe.h"

#include <unicode/uchar.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "core/error.h"
#include "io/tokenizer/bert_normalizer.h"

namespace squish {

namespace {

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the other 68 bytes take the
// code points from U+0100 on, in byte order.
const std::array<char32_t, 256>& byte_to_unicode() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      t[static_cast<size_t>(b)] = printable ? static_cast<char32_t>(b) : next++;
    }
    return t;
  }();
  return table;
}

// The raw bytes a spelling stands for, or nullopt when it has a character outside the 256 of the table.
std::optional<std::string> unspell(std::string_view spelled) {
  static const std::unordered_map<char32_t, unsigned char> inverse = [] {
    std::unordered_map<char32_t, unsigned char> m;
    for (int b = 0; b < 256; ++b) m.emplace(byte_to_unicode()[static_cast<size_t>(b)], static_cast<unsigned char>(b));
    return m;
  }();
  std::string out;
  const auto* p = reinterpret_cast<const unsigned char*>(spelled.data());
  const auto* end = p + spelled.size();
  while (p < end) {
    const auto it = inverse.find(decode_utf8(&p, end));
    if (it == inverse.end()) return std::nullopt;
    out.push_back(static_cast<char>(it->second));
  }
  return out;
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using StringIdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

uint64_t pair_key(int32_t a, int32_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b); }

bool is_rust_whitespace(char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)); }

// The byte offset where the whitespace ending text[..stop) begins (HF's lstrip), not before `floor`.
size_t whitespace_before(std::string_view text, size_t stop, size_t floor) {
  size_t start = stop;
  while (start > floor) {
    size_t k = start - 1;
    while (k > floor && (static_cast<unsigned char>(text[k]) & 0xC0) == 0x80) --k;
    const auto* p = reinterpret_cast<const unsigned char*>(text.data()) + k;
    if (!is_rust_whitespace(decode_utf8(&p, reinterpret_cast<const unsigned char*>(text.data()) + start))) break;
    start = k;
  }
  return start;
}

size_t whitespace_after(std::string_view text, size_t start) {
  const auto* begin = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = begin + text.size();
  const unsigned char* p = begin + start;
  while (p < end) {
    const unsigned char* q = p;
    if (!is_rust_whitespace(decode_utf8(&q, end))) break;
    p = q;
  }
  return static_cast<size_t>(p - begin);
}

// The words the BPE has already merged. HF keeps such a cache too; results never depend on it.
class WordCache {
 public:
  bool find(std::string_view word, std::vector<int32_t>& out) const {
    std::shared_lock lock(mutex_);
    const auto it = map_.find(word);
    if (it == map_.end()) return false;
    out.insert(out.end(), it->second.begin(), it->second.end());
    return true;
  }
  void insert(std::string_view word, const int32_t* ids, size_t n) {
    if (word.size() > kMaxWordBytes) return;
    std::unique_lock lock(mutex_);
    // A bounded memory: start over rather than track recency, since real text repeats its common words.
    if (map_.size() >= kMaxWords) map_.clear();
    map_.emplace(std::string(word), std::vector<int32_t>(ids, ids + n));
  }

 private:
  static constexpr size_t kMaxWords = 1 << 18, kMaxWordBytes = 256;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> map_;
};

}  // namespace

std::string byte_level_spelling(std::string_view bytes) {
  std::string out;
  for (const char c : bytes) append_utf8(out, byte_to_unicode()[static_cast<unsigned char>(c)]);
  return out;
}

bool is_byte_level_spelling(std::string_view token) { return unspell(token).has_value(); }

struct ByteLevelBpeTokenizer::Model {
  std::vector<std::string> token_by_id;  // spelled; empty where an id has no token
  StringIdMap id_by_token;               // spelled
  StringIdMap id_by_bytes;               // raw bytes of tokens whose spelling is all in the byte alphabet
  // What one byte becomes before any merge: its token, HF's byte fallback tokens, the unknown token, or
  // nothing (HF drops a character it cannot represent when there is no unknown token).
  struct ByteStart {
    enum Kind : uint8_t { kToken, kFallback, kUnknown, kDropped } kind = kDropped;
    uint8_t count = 0;
    int32_t ids[2] = {-1, -1};
  };
  std::array<ByteStart, 256> byte_start;
  struct Merge {
    int32_t rank, new_id;
  };
  std::unordered_map<uint64_t, Merge> merges;
  int32_t unk_id = -1;
  bool fuse_unk = false, ignore_merges = false, add_prefix_space = false;
  ByteLevelSplitOptions split;
  // Added tokens matched on the raw text, then (normalized ones) on what lies between those matches.
  std::vector<BpeAddedToken> raw_added, normalized_added;
  std::array<bool, 256> raw_first{}, normalized_first{};
  std::vector<BpeTemplateItem> single, pair;
  mutable WordCache cache;

  void merge_word(std::string_view word, std::vector<int32_t>& out) const;
  void bpe(std::string_view word, std::vector<int32_t>& out) const {
    if (ignore_merges) {
      const auto it = id_by_bytes.find(word);
      if (it != id_by_bytes.end()) {
        out.push_back(it->second);
        return;
      }
    }
    if (cache.find(word, out)) return;
    const size_t first = out.size();
    merge_word(word, out);
    cache.insert(word, out.data() + first, out.size() - first);
  }
};

// HF's Word::merge_all: the lowest-ranked adjacent pair (leftmost on ties) is merged until none is left.
void ByteLevelBpeTokenizer::Model::merge_word(std::string_view word, std::vector<int32_t>& out) const {
  struct Symbol {
    int32_t id;
    int32_t prev, next;
    bool removed;
  };
  struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t new_id;
    bool operator<(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  thread_local std::vector<Symbol> symbols;
  symbols.clear();
  auto add = [&](int32_t id) {
    const auto n = static_cast<int32_t>(symbols.size());
    if (n > 0) symbols.back().next = n;
    symbols.push_back({id, n - 1, -1, false});
  };
  int32_t pending_unk = 0;  // unknown bytes not yet written (HF writes them when a known one follows)
  for (const char ch : word) {
    const ByteStart& s = byte_start[static_cast<unsigned char>(ch)];
    switch (s.kind) {
      case ByteStart::kToken:
        if (pending_unk > 0) add(unk_id), pending_unk = 0;
        add(s.ids[0]);
        break;
      case ByteStart::kFallback:
        for (int i = 0; i < s.count; ++i) add(s.ids[i]);
        break;
      case ByteStart::kUnknown:
        if (pending_unk > 0 && !fuse_unk) add(unk_id);
        pending_unk = 1;
        break;
      case ByteStart::kDropped: break;
    }
  }
  if (pending_unk > 0) add(unk_id);

  thread_local std::vector<Candidate> heap;  // a min-heap on (rank, position)
  heap.clear();
  auto consider = [&](int32_t pos) {
    const int32_t next = symbols[static_cast<size_t>(pos)].next;
    if (next < 0) return;
    const auto it = merges.find(pair_key(symbols[static_cast<size_t>(pos)].id, symbols[static_cast<size_t>(next)].id));
    if (it == merges.end()) return;
    heap.push_back({it->second.rank, pos, it->second.new_id});
    std::push_heap(heap.begin(), heap.end());
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) consider(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = symbols[static_cast<size_t>(top.pos)];
    if (left.removed || left.next < 0) continue;
    Symbol& right = symbols[static_cast<size_t>(left.next)];
    // Entries go stale when a neighbour merged first; the pair must still be the one queued.
    const auto it = merges.find(pair_key(left.id, right.id));
    if (it == merges.end() || it->second.new_id != top.new_id) continue;
    left.id = top.new_id;
    right.removed = true;
    left.next = right.next;
    if (right.next >= 0) symbols[static_cast<size_t>(right.next)].prev = top.pos;
    if (left.prev >= 0) consider(left.prev);
    consider(top.pos);
  }
  for (const Symbol& s : symbols)
    if (!s.removed) out.push_back(s.id);
}

ByteLevelBpeTokenizer::ByteLevelBpeTokenizer(const ByteLevelBpeSpec& spec) : model_(std::make_unique<Model>()) {
  Model& m = *model_;
  const std::string& src = spec.source;
  auto token_slot = [&](int32_t id) -> std::string& {
    if (id < 0) throw FormatError(src + ": token id " + std::to_string(id) + " is negative");
    if (static_cast<size_t>(id) >= m.token_by_id.size()) m.token_by_id.resize(static_cast<size_t>(id) + 1);
    return m.token_by_id[static_cast<size_t>(id)];
  };
  for (const auto& [token, id] : spec.vocab) {
    if (token.empty()) throw FormatError(src + ": token id " + std::to_string(id) + " is an empty string");
    std::string& slot = token_slot(id);
    if (!slot.empty())
      throw FormatError(src + ": tokens \"" + slot + "\" and \"" + token + "\" have the same id " + std::to_string(id));
    const auto [it, inserted] = m.id_by_token.emplace(token, id);
    if (!inserted)
      throw FormatError(src + ": token \"" + token + "\" has two ids, " + std::to_string(it->second) + " and " +
                        std::to_string(id));
    slot = token;
    if (auto bytes = unspell(token)) m.id_by_bytes.emplace(std::move(*bytes), id);
  }
  m.merges.reserve(spec.merges.size() * 2);
  for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
    const auto& [a, b] = spec.merges[rank];
    auto id_of = [&](const std::string& token) {
      const auto it = m.id_by_token.find(token);
      if (it == m.id_by_token.end()) {
        const std::string where = spec.merge_where ? spec.merge_where(rank) : src + ": merge " + std::to_string(rank);
        throw FormatError(where + ": the merge \"" + a + " " + b + "\" needs the token \"" + token +
                          "\", which is not in the vocabulary");
      }
      return it->second;
    };
    const int32_t ia = id_of(a), ib = id_of(b), merged = id_of(a + b);
    // A repeated pair keeps its last rank, as HF's map of merges does.
    m.merges[pair_key(ia, ib)] = {static_cast<int32_t>(rank), merged};
  }
  if (!spec.unk_token.empty()) {
    const auto it = m.id_by_token.find(spec.unk_token);
    if (it == m.id_by_token.end())
      throw FormatError(src + ": the unknown token \"" + spec.unk_token + "\" is not in the vocabulary");
    m.unk_id = it->second;
  }
  for (int b = 0; b < 256; ++b) {
    std::string spelled;
    append_utf8(spelled, byte_to_unicode()[static_cast<size_t>(b)]);
    Model::ByteStart& start = m.byte_start[static_cast<size_t>(b)];
    if (const auto it = m.id_by_token.find(spelled); it != m.id_by_token.end()) {
      start = {Model::ByteStart::kToken, 1, {it->second, -1}};
      continue;
    }
    if (spec.byte_fallback) {
      // HF looks up "<0xXX>" for each UTF-8 byte of the spelled character, not for the byte itself.
      Model::ByteStart fallback{Model::ByteStart::kFallback, 0, {-1, -1}};
      for (const char c : spelled) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", static_cast<unsigned>(static_cast<unsigned char>(c)));
        const auto it = m.id_by_token.find(std::string_view(name));
        if (it == m.id_by_token.end()) {
          fallback.count = 0;
          break;
        }
        fallback.ids[fallback.count++] = it->second;
      }
      if (fallback.count > 0) {
        start = fallback;
        continue;
      }
    }
    start.kind = m.unk_id >= 0 ? Model::ByteStart::kUnknown : Model::ByteStart::kDropped;
  }
  m.fuse_unk = spec.fuse_unk;
  m.ignore_merges = spec.ignore_merges;
  m.add_prefix_space = spec.add_prefix_space;
  m.split = spec.split;
  for (const BpeAddedToken& t : spec.added_tokens) {
    if (t.content.empty()) throw FormatError(src + ": added token " + std::to_string(t.id) + " is an empty string");
    std::string& slot = token_slot(t.id);
    if (slot.empty()) slot = t.content;
    (t.normalized ? m.normalized_added : m.raw_added).push_back(t);
    (t.normalized ? m.normalized_first : m.raw_first)[static_cast<unsigned char>(t.content.front())] = true;
  }
  auto check_template = [&](const std::vector<BpeTemplateItem>& items, const char* which) {
    for (const BpeTemplateItem& item : items)
      if (item.special_id >= 0 && static_cast<size_t>(item.special_id) >= m.token_by_id.size())
        throw FormatError(src + ": the " + which + " post-processing template adds id " +
                          std::to_string(item.special_id) + ", outside the vocabulary of " +
                          std::to_string(m.token_by_id.size()));
  };
  check_template(spec.single, "single");
  check_template(spec.pair, "pair");
  m.single = spec.single;
  m.pair = spec.pair;
  for (const auto& [id, what] :
       {std::pair{spec.bos, "BOS"}, std::pair{spec.eos, "EOS"}, std::pair{spec.pad, "padding"}})
    if (id && (*id < 0 || static_cast<size_t>(*id) >= m.token_by_id.size()))
      throw FormatError(src + ": the " + what + " id " + std::to_string(*id) + " is outside the vocabulary of " +
                        std::to_string(m.token_by_id.size()));
  bos_ = spec.bos;
  eos_ = spec.eos;
  pad_ = spec.pad;
}

ByteLevelBpeTokenizer::ByteLevelBpeTokenizer(ByteLevelBpeTokenizer&&) noexcept = default;
ByteLevelBpeTokenizer& ByteLevelBpeTokenizer::operator=(ByteLevelBpeTokenizer&&) noexcept = default;
ByteLevelBpeTokenizer::~ByteLevelBpeTokenizer() = default;

size_t ByteLevelBpeTokenizer::vocab_size() const { return model_->token_by_id.size(); }

int32_t ByteLevelBpeTokenizer::pad_id() const { return pad_ ? *pad_ : eos_ ? *eos_ : 0; }

std::string_view ByteLevelBpeTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= vocab_size() || model_->token_by_id[static_cast<size_t>(id)].empty())
    throw UsageError("token id " + std::to_string(id) + " has no token (vocabulary of " + std::to_string(vocab_size()) +
                     ")");
  return model_->token_by_id[static_cast<size_t>(id)];
}

std::optional<int32_t> ByteLevelBpeTokenizer::token_to_id(std::string_view token) const {
  const auto it = model_->id_by_token.find(token);
  if (it != model_->id_by_token.end()) return it->second;
  for (const auto* list : {&model_->raw_added, &model_->normalized_added})
    for (const BpeAddedToken& t : *list)
      if (t.content == token) return t.id;
  return std::nullopt;
}

void ByteLevelBpeTokenizer::append_segment(std::string_view segment, std::vector<int32_t>& ids) const {
  if (segment.empty()) return;
  const Model& m = *model_;
  thread_local std::string prefixed;
  if (m.add_prefix_space && segment.front() != ' ') {
    prefixed.assign(" ");
    prefixed.append(segment);
    segment = prefixed;
  }
  thread_local std::vector<TextPiece> pieces;
  pieces.clear();
  split_byte_level(segment, m.split, pieces);
  for (const auto& [begin, end] : pieces) m.bpe(segment.substr(begin, end - begin), ids);
}

namespace {

struct AddedMatch {
  size_t start, stop;
  int32_t id;
};

// HF's AddedVocabulary::find_matches: leftmost match, longest at one position, lstrip/rstrip widening it.
void find_added(std::string_view text, const std::vector<BpeAddedToken>& tokens, const std::array<bool, 256>& first,
                std::vector<AddedMatch>& out) {
  size_t floor = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    if (!first[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    const BpeAddedToken* best = nullptr;
    for (const BpeAddedToken& t : tokens)
      if ((!best || t.content.size() > best->content.size()) && text.compare(pos, t.content.size(), t.content) == 0)
        best = &t;
    if (!best) {
      ++pos;
      continue;
    }
    size_t start = pos, stop = pos + best->content.size();
    if (best->lstrip) start = whitespace_before(text, start, floor);
    if (best->rstrip) stop = whitespace_after(text, stop);
    out.push_back({start, stop, best->id});
    pos = floor = stop;
  }
}

}  // namespace

void ByteLevelBpeTokenizer::append_ids(std::string_view raw, std::vector<int32_t>& ids) const {
  const Model& m = *model_;
  thread_local std::string storage;
  const std::string_view text = sanitize_utf8(raw, storage);
  auto add_normalized = [&](std::string_view gap) {
    if (m.normalized_added.empty()) return append_segment(gap, ids);
    std::vector<AddedMatch> matches;
    find_added(gap, m.normalized_added, m.normalized_first, matches);
    size_t at = 0;
    for (const AddedMatch& match : matches) {
      append_segment(gap.substr(at, match.start - at), ids);
      ids.push_back(match.id);
      at = match.stop;
    }
    append_segment(gap.substr(at), ids);
  };
  if (m.raw_added.empty()) return add_normalized(text);
  std::vector<AddedMatch> matches;
  find_added(text, m.raw_added, m.raw_first, matches);
  size_t at = 0;
  for (const AddedMatch& match : matches) {
    add_normalized(text.substr(at, match.start - at));
    ids.push_back(match.id);
    at = match.stop;
  }
  add_normalized(text.substr(at));
}

std::vector<int32_t> ByteLevelBpeTokenizer::tokenize(std::string_view text) const {
  std::vector<int32_t> ids;
  append_ids(text, ids);
  return ids;
}

Encoding ByteLevelBpeTokenizer::apply_template(const std::vector<BpeTemplateItem>& items,
                                               const std::vector<int32_t>* seqs) const {
  Encoding e;
  for (const BpeTemplateItem& item : items) {
    if (item.special_id >= 0) {
      e.input_ids.push_back(item.special_id);
      e.token_type_ids.push_back(item.type_id);
    } else {
      const std::vector<int32_t>& s = seqs[item.sequence];
      e.input_ids.insert(e.input_ids.end(), s.begin(), s.end());
      e.token_type_ids.insert(e.token_type_ids.end(), s.size(), item.type_id);
    }
  }
  e.attention_mask.assign(e.input_ids.size(), 1);
  return e;
}

std::vector<int32_t> ByteLevelBpeTokenizer::encode_ids(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> ids = tokenize(text);
  if (!add_special_tokens) return ids;
  return apply_template(model_->single, &ids).input_ids;
}

int ByteLevelBpeTokenizer::min_length(bool pair) const {
  const auto& items = pair ? model_->pair : model_->single;
  return static_cast<int>(std::count_if(items.begin(), items.end(), [](const auto& i) { return i.special_id >= 0; }));
}

Encoding ByteLevelBpeTokenizer::encode(std::string_view text, int max_length) const {
  if (max_length < min_length(false))
    throw UsageError("max_length " + std::to_string(max_length) + " leaves no room for the " +
                     std::to_string(min_length(false)) + " special tokens");
  std::vector<int32_t> ids = tokenize(text);
  const size_t budget = static_cast<size_t>(max_length - min_length(false));
  const bool truncated = ids.size() > budget;
  if (truncated) ids.resize(budget);
  Encoding e = apply_template(model_->single, &ids);
  e.truncated = truncated;
  return e;
}

Encoding ByteLevelBpeTokenizer::encode_pair(std::string_view a, std::string_view b, int max_length) const {
  if (max_length < min_length(true))
    throw UsageError("max_length " + std::to_string(max_length) + " leaves no room for the " +
                     std::to_string(min_length(true)) + " special tokens of a pair");
  std::vector<int32_t> seqs[2] = {tokenize(a), tokenize(b)};
  const bool truncated = truncate_longest_first(seqs[0], seqs[1], static_cast<size_t>(max_length - min_length(true)));
  Encoding e = apply_template(model_->pair, seqs);
  e.truncated = truncated;
  return e;
}

}  // namespace squish
