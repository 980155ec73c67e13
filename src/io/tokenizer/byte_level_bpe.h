// Byte-level BPE (GPT-2, OPT, SmolLM2, ...), id-for-id equal to HF `tokenizers`: added and special tokens
// matched in the raw text first (HF's AddedVocabulary), the rest split by the byte-level pre-tokenizer
// (byte_level_pretokenizer.h), each piece's bytes spelled through GPT-2's byte-to-unicode table and merged by
// rank (HF's BPE model, byte fallback and unknown token included), then the post-processor's special tokens.
// It does not decode ids back to text or track offsets. The readers of tokenizer.json, vocab.json +
// merges.txt and GGUF metadata are in bpe_loaders.h. See docs/tokenizer.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/tokenizer/byte_level_pretokenizer.h"
#include "io/tokenizer/tokenizer.h"

namespace squish {

// HF's AddedToken. single_word is refused by the readers.
struct BpeAddedToken {
  std::string content;
  int32_t id = -1;
  bool special = true;
  bool lstrip = false, rstrip = false;  // the match swallows whitespace on that side
  bool normalized = false;              // matched after the non-normalized ones, in the text between them
};

// One element of a post-processing template (HF TemplateProcessing): a special token's id, or where the
// text goes (sequence 0 = the text or the pair's first, 1 = the pair's second), with its token type.
struct BpeTemplateItem {
  int32_t special_id = -1;  // -1: the sequence
  int sequence = 0;
  int32_t type_id = 0;
};

// Everything a reader found, checked by the tokenizer's constructor.
struct ByteLevelBpeSpec {
  std::string source;  // the file(s), for errors
  // Tokens as the file spells them, in GPT-2's byte-to-unicode alphabet ("Ġthe"), and their ids.
  std::vector<std::pair<std::string, int32_t>> vocab;
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
  std::function<std::string(size_t)> merge_where;           // where merge i is written ("merges.txt:12")
  std::vector<BpeAddedToken> added_tokens;
  ByteLevelSplitOptions split;
  bool add_prefix_space = false;  // ByteLevel(add_prefix_space): a space before text not starting with one
  std::string unk_token;          // empty: none (a byte missing from the vocabulary is then dropped, as in HF)
  bool fuse_unk = false, byte_fallback = false, ignore_merges = false;
  std::vector<BpeTemplateItem> single = {{}};                    // default: the text alone
  std::vector<BpeTemplateItem> pair = {{-1, 0, 0}, {-1, 1, 1}};  // default: both texts, types 0 and 1
  std::optional<int32_t> bos, eos, pad;
};

// GPT-2's byte-to-unicode spelling of raw bytes ("\n" -> "Ċ"), and whether a string is written in it.
std::string byte_level_spelling(std::string_view bytes);
bool is_byte_level_spelling(std::string_view token);

class ByteLevelBpeTokenizer final : public Tokenizer {
 public:
  // FormatError naming spec.source (and the merge's place) for a merge naming a token or making one that is
  // not in the vocabulary, duplicate ids, special ids outside the vocabulary.
  explicit ByteLevelBpeTokenizer(const ByteLevelBpeSpec& spec);
  ByteLevelBpeTokenizer(ByteLevelBpeTokenizer&&) noexcept;
  ByteLevelBpeTokenizer& operator=(ByteLevelBpeTokenizer&&) noexcept;
  ~ByteLevelBpeTokenizer() override;

  // Ids of the text, special tokens written in it included, without the post-processor's.
  std::vector<int32_t> tokenize(std::string_view text) const;
  std::vector<int32_t> encode_ids(std::string_view text, bool add_special_tokens) const override;
  // The single template around the text's first max_length - (its special ids) ids; token types all 0.
  Encoding encode(std::string_view text, int max_length) const override;
  // The pair template (HF: both texts, types 0 and 1, with the special tokens the reader gave), longest_first
  // truncation as WordPiece.
  Encoding encode_pair(std::string_view a, std::string_view b, int max_length) const override;
  int min_length(bool pair) const override;

  // The padding id, else EOS, else 0: causal LMs often have none, and padded positions are masked anyway.
  int32_t pad_id() const override;
  size_t vocab_size() const override;
  bool uses_token_type_ids() const override { return false; }
  std::optional<int32_t> bos_id() const override { return bos_; }
  std::optional<int32_t> eos_id() const override { return eos_; }
  // The token as the file spells it ("Ġthe"), for messages and tests; UsageError when there is none.
  std::string_view id_to_token(int32_t id) const;
  std::optional<int32_t> token_to_id(std::string_view token) const;

 private:
  struct Model;
  void append_ids(std::string_view text, std::vector<int32_t>& ids) const;
  void append_segment(std::string_view segment, std::vector<int32_t>& ids) const;
  Encoding apply_template(const std::vector<BpeTemplateItem>& items, const std::vector<int32_t>* seqs) const;

  std::unique_ptr<Model> model_;
  std::optional<int32_t> bos_, eos_, pad_;
};

}  // namespace squish
