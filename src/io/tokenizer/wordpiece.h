// BERT's WordPiece tokenizer, id-for-id equal to HF `tokenizers` (BertNormalizer + BertPreTokenizer +
// WordPiece + BertProcessing with LongestFirst truncation, as BertTokenizerFast builds it), special
// tokens written in the text ("[SEP]", "[MASK]") included. It turns text into ids; it does not pad,
// batch, decode ids back to text, or track character offsets. See docs/tokenizer.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/tokenizer/bert_normalizer.h"
#include "io/tokenizer/tokenizer.h"

namespace squish {

struct WordPieceOptions {
  bool lowercase = true;
  bool strip_accents = true;  // HF's strip_accents=None means "same as lowercase"
  bool tokenize_chinese_chars = true;
  bool clean_text = true;
  int max_input_chars_per_word = 100;  // longer words (in code points) become [UNK]
};

// Means "do not truncate" for encode()/encode_pair().
inline constexpr int kNoTruncation = std::numeric_limits<int>::max();

class WordPieceTokenizer final : public Tokenizer {
 public:
  // Reads <dir>/vocab.txt and <dir>/tokenizer_config.json (do_lower_case, default true; strip_accents,
  // null = follow do_lower_case; tokenize_chinese_chars, default true; the special token strings
  // unk_token, sep_token, pad_token, cls_token, mask_token when they are not BERT's defaults).
  // IoError for a missing file, FormatError naming the file (and line) for anything malformed.
  static WordPieceTokenizer from_model_dir(const std::string& dir);
  // The vocab file alone, with options given here (default special token strings).
  static WordPieceTokenizer from_vocab_file(const std::string& vocab_path, const WordPieceOptions& options);

  // Ids of `text` without [CLS]/[SEP].
  std::vector<int32_t> tokenize(std::string_view text) const;
  // [CLS] text [SEP], keeping the first max_length - 2 tokens of the text.
  Encoding encode(std::string_view text, int max_length) const override;
  // [CLS] a [SEP] b [SEP] with token types 0 for "[CLS] a [SEP]" and 1 for "b [SEP]". When too long,
  // HF's longest_first: the longer side is cut first, down to the length of the shorter if need be;
  // when both must be cut, the budget max_length - 3 is split in half, the longer side (b on ties)
  // getting the odd token. Each side keeps its first tokens.
  Encoding encode_pair(std::string_view a, std::string_view b, int max_length) const override;
  // [CLS] text [SEP] with add_special_tokens, else tokenize(text); never truncated.
  std::vector<int32_t> encode_ids(std::string_view text, bool add_special_tokens) const override;
  // HF silently skips truncation when max_length is below the number of special tokens (2 or 3);
  // squish throws UsageError instead, since an over-long sequence would break the model later.
  int min_length(bool pair) const override { return pair ? 3 : 2; }

  int32_t pad_id() const override { return pad_id_; }
  int32_t cls_id() const { return cls_id_; }
  int32_t sep_id() const { return sep_id_; }
  int32_t unk_id() const { return unk_id_; }
  int32_t mask_id() const { return mask_id_; }  // -1 when the vocabulary has no mask token
  size_t vocab_size() const override;
  bool uses_token_type_ids() const override { return true; }
  // BERT has no BOS/EOS tokens ([CLS] and [SEP] are not used as such).
  std::optional<int32_t> bos_id() const override { return std::nullopt; }
  std::optional<int32_t> eos_id() const override { return std::nullopt; }
  // The token of an id ("##ing"), for messages and debugging; throws UsageError when out of range.
  std::string_view id_to_token(int32_t id) const;
  const WordPieceOptions& options() const { return options_; }

  WordPieceTokenizer(WordPieceTokenizer&&) noexcept;
  WordPieceTokenizer& operator=(WordPieceTokenizer&&) noexcept;
  ~WordPieceTokenizer();

 private:
  struct Vocab;
  struct SpecialTokenNames {
    std::string unk = "[UNK]", sep = "[SEP]", pad = "[PAD]", cls = "[CLS]", mask = "[MASK]";
  };
  WordPieceTokenizer(std::unique_ptr<Vocab> vocab, const WordPieceOptions& options, const SpecialTokenNames& names,
                     const std::string& source);

  void append_ids(std::string_view text, std::vector<int32_t>& ids) const;
  void append_word_ids(std::string_view word, uint32_t chars, std::vector<int32_t>& ids) const;

  std::unique_ptr<Vocab> vocab_;
  WordPieceOptions options_;
  BertNormalizer normalizer_;
  int32_t pad_id_ = -1, cls_id_ = -1, sep_id_ = -1, unk_id_ = -1, mask_id_ = -1;
  // Special tokens matched verbatim in the raw text before normalization, like HF's added tokens.
  std::vector<std::pair<std::string, int32_t>> specials_;
  std::array<bool, 256> special_first_byte_{};  // bytes that can start one, to skip the rest fast
};

}  // namespace squish
