#include "io/tokenizer/byte_level_pretokenizer.h"

#include <unicode/uchar.h>

#include <array>
#include <string>

#include "io/tokenizer/bert_normalizer.h"

namespace squish {

namespace {

enum Class : uint8_t { kLetter, kNumber, kSpace, kOther };

// Code points ICU 72 (Unicode 15.0) does not know but HF's libraries do: Oniguruma's tables (\p{L}, \p{N})
// and Rust's char::is_numeric (Digits) are newer. Measured over every code point (codepoints.txt.gz);
// consulted only for what ICU calls unassigned, so the table steps aside once ICU knows them.
struct NewerRange {
  char32_t first, last;
  Class regex_class;
  bool numeric;
};
constexpr NewerRange kNewerThanIcu[] = {
    {0x1C89, 0x1C8A, kLetter, false},   {0xA7CB, 0xA7CD, kLetter, false},   {0xA7DA, 0xA7DC, kLetter, false},
    {0x105C0, 0x105F3, kLetter, false}, {0x10D40, 0x10D49, kNumber, true},  {0x10D4A, 0x10D65, kLetter, false},
    {0x10D6F, 0x10D85, kLetter, false}, {0x10EC2, 0x10EC4, kLetter, false}, {0x11380, 0x11389, kLetter, false},
    {0x1138B, 0x1138B, kLetter, false}, {0x1138E, 0x1138E, kLetter, false}, {0x11390, 0x113B5, kLetter, false},
    {0x113B7, 0x113B7, kLetter, false}, {0x113D1, 0x113D1, kLetter, false}, {0x113D3, 0x113D3, kLetter, false},
    {0x116D0, 0x116E3, kNumber, true},  {0x11BC0, 0x11BE0, kLetter, false}, {0x11BF0, 0x11BF9, kNumber, true},
    {0x11DE0, 0x11DE9, kOther, true},   {0x13460, 0x143FA, kLetter, false}, {0x16100, 0x1611D, kLetter, false},
    {0x16130, 0x16139, kNumber, true},  {0x16D40, 0x16D6C, kLetter, false}, {0x16D70, 0x16D79, kNumber, true},
    {0x16FF4, 0x16FF6, kOther, true},   {0x18CFF, 0x18CFF, kLetter, false}, {0x1CCF0, 0x1CCF9, kNumber, true},
    {0x1E5D0, 0x1E5ED, kLetter, false}, {0x1E5F0, 0x1E5F0, kLetter, false}, {0x1E5F1, 0x1E5FA, kNumber, true},
    {0x2EBF0, 0x2EE5D, kLetter, false},
};

const NewerRange* newer_than_icu(char32_t c) {
  for (const NewerRange& r : kNewerThanIcu)
    if (c >= r.first && c <= r.last) return &r;
  return nullptr;
}

Class icu_class(char32_t c) {
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_UNASSIGNED: {
      const NewerRange* r = newer_than_icu(c);
      return r ? r->regex_class : kOther;
    }
    case U_UPPERCASE_LETTER:
    case U_LOWERCASE_LETTER:
    case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER:
    case U_OTHER_LETTER: return kLetter;
    case U_DECIMAL_DIGIT_NUMBER:
    case U_LETTER_NUMBER:
    case U_OTHER_NUMBER: return kNumber;
    default: return u_isUWhiteSpace(static_cast<UChar32>(c)) ? kSpace : kOther;
  }
}

const std::array<Class, 128>& ascii_classes() {
  static const std::array<Class, 128> table = [] {
    std::array<Class, 128> t{};
    for (char32_t c = 0; c < 128; ++c) t[c] = icu_class(c);
    return t;
  }();
  return table;
}

Class char_class(char32_t c) { return c < 128 ? ascii_classes()[c] : icu_class(c); }

bool numeric(char32_t c) {
  if (c < 128) return c >= '0' && c <= '9';
  const int8_t t = u_charType(static_cast<UChar32>(c));
  if (t == U_UNASSIGNED) {
    const NewerRange* r = newer_than_icu(c);
    return r && r->numeric;
  }
  return t == U_DECIMAL_DIGIT_NUMBER || t == U_LETTER_NUMBER || t == U_OTHER_NUMBER;
}

// One text decoded once: code points, their classes and byte offsets (offset[n] = the text's size).
struct Decoded {
  std::u32string cp;
  std::vector<Class> cls;
  std::vector<uint32_t> offset;

  void decode(std::string_view text) {
    cp.clear();
    cls.clear();
    offset.clear();
    const auto* begin = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = begin + text.size();
    for (const unsigned char* p = begin; p < end;) {
      offset.push_back(static_cast<uint32_t>(p - begin));
      char32_t c;
      if (*p < 0x80) {
        c = *p++;
      } else {
        c = decode_utf8(&p, end);
      }
      cp.push_back(c);
      cls.push_back(char_class(c));
    }
    offset.push_back(static_cast<uint32_t>(text.size()));
  }
};

// The regex on code points [a, b), leftmost-first alternation exactly as a backtracking engine runs it.
void split_gpt2(const Decoded& d, size_t a, size_t b, std::vector<TextPiece>& out) {
  auto emit = [&](size_t from, size_t to) { out.emplace_back(d.offset[from], d.offset[to]); };
  size_t k = a;
  while (k < b) {
    if (d.cp[k] == U'\'' && k + 1 < b) {
      const char32_t c1 = d.cp[k + 1];
      if (c1 == U's' || c1 == U't' || c1 == U'm' || c1 == U'd') {
        emit(k, k + 2);
        k += 2;
        continue;
      }
      if (k + 2 < b && ((c1 == U'r' && d.cp[k + 2] == U'e') || (c1 == U'v' && d.cp[k + 2] == U'e') ||
                        (c1 == U'l' && d.cp[k + 2] == U'l'))) {
        emit(k, k + 3);
        k += 3;
        continue;
      }
    }
    // " ?X+" for X letter, number or other: an optional U+0020 directly before a run of one class.
    size_t j = k;
    if (d.cp[k] == U' ' && k + 1 < b && d.cls[k + 1] != kSpace) j = k + 1;
    if (d.cls[j] != kSpace) {
      const Class c = d.cls[j];
      size_t e = j + 1;
      while (e < b && d.cls[e] == c) ++e;
      emit(k, e);
      k = e;
      continue;
    }
    // A whitespace run: \s+(?!\S) leaves its last character to the word that follows; a single
    // whitespace character before a word falls through to \s+.
    size_t e = k + 1;
    while (e < b && d.cls[e] == kSpace) ++e;
    if (e < b && e - k >= 2) --e;
    emit(k, e);
    k = e;
  }
}

}  // namespace

char gpt2_char_class(char32_t c) {
  static constexpr char kNames[] = {'L', 'N', 'S', 'O'};
  return kNames[char_class(c)];
}

bool is_hf_numeric(char32_t c) { return numeric(c); }

std::string_view sanitize_utf8(std::string_view text, std::string& storage) {
  const auto* begin = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = begin + text.size();
  const unsigned char* p = begin;
  bool valid = true;
  while (p < end && valid) {
    if (*p < 0x80) {
      ++p;
      continue;
    }
    const unsigned char* q = p;
    const char32_t c = decode_utf8(&q, end);
    // U+FFFD written as EF BF BD is valid; anything else decoding to it was ill-formed.
    valid = c != 0xFFFD || (q - p == 3 && p[0] == 0xEF && p[1] == 0xBF && p[2] == 0xBD);
    p = q;
  }
  if (valid) return text;
  storage.clear();
  storage.reserve(text.size() + 8);
  for (p = begin; p < end;) append_utf8(storage, *p < 0x80 ? *p++ : decode_utf8(&p, end));
  return storage;
}

void split_byte_level(std::string_view text, const ByteLevelSplitOptions& options, std::vector<TextPiece>& out) {
  if (text.empty()) return;
  if (!options.use_regex && !options.individual_digits) {
    out.emplace_back(0, static_cast<uint32_t>(text.size()));
    return;
  }
  thread_local Decoded d;
  d.decode(text);
  const size_t n = d.cp.size();
  auto split = [&](size_t a, size_t b) {
    if (a == b) return;
    if (options.use_regex) {
      split_gpt2(d, a, b, out);
    } else {
      out.emplace_back(d.offset[a], d.offset[b]);
    }
  };
  if (!options.individual_digits) {
    split(0, n);
    return;
  }
  size_t start = 0;
  for (size_t k = 0; k < n; ++k) {
    if (!numeric(d.cp[k])) continue;
    split(start, k);
    out.emplace_back(d.offset[k], d.offset[k + 1]);
    start = k + 1;
  }
  split(start, n);
}

}  // namespace squish
