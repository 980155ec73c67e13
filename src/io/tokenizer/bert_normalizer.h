// BERT's text clean-up and word splitting exactly as HF `tokenizers` does it: BertNormalizer
// (clean_text, CJK spacing, NFD + accent stripping, lower-casing) followed by BertPreTokenizer
// (split on whitespace, isolate punctuation). This file knows nothing of vocabularies, special tokens
// or WordPiece; see wordpiece.h for those. Unicode properties come from ICU, plus the few places where
// HF's own (older) Unicode tables disagree with ICU's, listed in bert_normalizer.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace squish {

struct BertNormalizerOptions {
  bool clean_text = true;            // drop NUL, U+FFFD, Cc/Cf/Co (not \t \n \r); whitespace -> ' '
  bool handle_chinese_chars = true;  // put spaces around CJK ideographs so each is its own word
  bool strip_accents = true;         // NFD, then drop non-spacing marks (Mn)
  bool lowercase = true;             // full per-character lower-casing (U+0130 -> "i\u0307")
};

// The words of one text after normalization and pre-tokenization, kept as UTF-8 ranges of one buffer
// so splitting a long review costs no allocation per word.
struct BertWords {
  struct Word {
    uint32_t begin = 0;  // byte offset into `text`
    uint32_t size = 0;   // bytes
    uint32_t chars = 0;  // code points (HF limits word length in chars, not bytes)
  };
  std::string text;
  std::vector<Word> words;

  std::string_view view(const Word& w) const { return std::string_view(text).substr(w.begin, w.size); }
  void clear() {
    text.clear();
    words.clear();
  }
};

// Invalid UTF-8 never throws: each maximal ill-formed subsequence becomes one U+FFFD (the Unicode
// "maximal subpart" rule, which Python's bytes.decode(errors="replace") follows), so the result
// equals HF run on Python-decoded text. With clean_text on, those U+FFFD are then dropped.
class BertNormalizer {
 public:
  explicit BertNormalizer(const BertNormalizerOptions& options);

  // HF's NormalizedString after BertNormalizer, as UTF-8 (what `normalize_str` returns in Python).
  std::string normalize(std::string_view utf8) const;
  // Normalizes `utf8` and appends its words to `out` (does not clear it).
  void split_words(std::string_view utf8, BertWords& out) const;

  const BertNormalizerOptions& options() const { return options_; }

  // The character classes HF uses, exposed for tests.
  static bool is_whitespace(char32_t c);    // Rust char::is_whitespace (White_Space), plus \t \n \r
  static bool is_control(char32_t c);       // Cc, Cf, Co except \t \n \r
  static bool is_chinese_char(char32_t c);  // HF's CJK ranges (not a Unicode property)
  static bool is_punctuation(char32_t c);   // ASCII punctuation or Unicode P*
  static bool is_nonspacing_mark(char32_t c);

 private:
  // Clean-up, CJK spacing, NFD + accent stripping and lower-casing into `out` as code points.
  void normalize_to(std::string_view utf8, std::u32string& out) const;

  BertNormalizerOptions options_;
};

// Decodes one code point from [*p, end) and advances *p; ill-formed input yields U+FFFD and advances
// past the maximal subpart (at least one byte).
char32_t decode_utf8(const unsigned char** p, const unsigned char* end);
void append_utf8(std::string& out, char32_t c);

}  // namespace squish
