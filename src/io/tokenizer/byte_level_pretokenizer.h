// The pre-tokenizers of byte-level BPE tokenizers: GPT-2's split
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// written out by hand over ICU character classes (equal, piece for piece, to HF `tokenizers`' Oniguruma
// regex), optionally preceded by HF's Digits(individual_digits=True), which isolates every numeric
// character before the regex runs on what lies between (SmolLM2's "smollm" pre-tokenizer). Pieces are
// byte ranges of the input; turning bytes into BPE symbols is byte_level_bpe.h's business.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace squish {

struct ByteLevelSplitOptions {
  bool individual_digits = false;  // HF Digits(individual_digits=True) first
  bool use_regex = true;           // false: the whole text is one piece (HF ByteLevel(use_regex=False))
};

// [begin, end) byte offsets into the text.
using TextPiece = std::pair<uint32_t, uint32_t>;

// Appends the pieces of `text`, which must be valid UTF-8 (see sanitize_utf8), to `out`. Every byte of
// the text is in exactly one piece, in order.
void split_byte_level(std::string_view text, const ByteLevelSplitOptions& options, std::vector<TextPiece>& out);

// `text` itself when it is valid UTF-8, otherwise a copy in `storage` where each maximal ill-formed
// subsequence is U+FFFD (Python's errors="replace"), so squish on bytes equals HF on the decoded text.
std::string_view sanitize_utf8(std::string_view text, std::string& storage);

// The class of a code point in the GPT-2 regex as HF sees it: 'L' (\p{L}), 'N' (\p{N}), 'S' (\s) or 'O'.
char gpt2_char_class(char32_t c);
// Whether HF's Digits pre-tokenizer isolates the code point (Rust's char::is_numeric).
bool is_hf_numeric(char32_t c);

}  // namespace squish
