#include "io/tokenizer/bert_normalizer.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include <algorithm>
#include <stdexcept>

namespace squish {

namespace {

const UNormalizer2* nfd_instance() {
  static const UNormalizer2* nfd = [] {
    UErrorCode err = U_ZERO_ERROR;
    const UNormalizer2* n = unorm2_getNFDInstance(&err);
    // Only fails when ICU's data library is missing: an installation problem, not bad input.
    if (U_FAILURE(err)) throw std::runtime_error(std::string("ICU NFD normalizer unavailable: ") + u_errorName(err));
    return n;
  }();
  return nfd;
}

// True when `c` was not yet assigned in Unicode <major>.0 (and is assigned in ICU's version).
bool newer_than_unicode(char32_t c, uint8_t major) {
  UVersionInfo age;
  u_charAge(static_cast<UChar32>(c), age);
  return age[0] > major || (age[0] == major && (age[1] | age[2]) != 0);
}

// HF classifies characters (control, punctuation, non-spacing mark) with the `unicode_categories`
// crate, whose tables are Unicode 8.0, while ICU 72 knows Unicode 15.0. So a character ICU knows but
// Unicode 8.0 did not has no category for HF (it is kept, never split off or stripped), and the six
// characters below changed category after 8.0. Measured over every code point against tokenizers
// 0.23.3 (tests/fixtures/tokenizer/codepoints.txt.gz); nothing else differs.
int8_t hf_char_type(char32_t c) {
  switch (c) {
    case 0x1734: return U_NON_SPACING_MARK;  // Mc since Unicode 14
    case 0x1885:
    case 0x1886: return U_OTHER_LETTER;            // Mn since Unicode 9
    case 0xA9BD: return U_COMBINING_SPACING_MARK;  // Mn since Unicode 12
    case 0x111C9: return U_OTHER_PUNCTUATION;      // Mn since Unicode 11
    case 0x166D: return U_OTHER_PUNCTUATION;       // So since Unicode 12
    default: break;
  }
  if (newer_than_unicode(c, 8)) return U_UNASSIGNED;
  return u_charType(static_cast<UChar32>(c));
}

// Rust's std (which does HF's lower-casing) follows a newer Unicode than ICU 72: these upper-case
// letters, unassigned in Unicode 15.0, already have lower-case partners there. Applied only while ICU
// calls the letter unassigned, so a newer ICU simply takes over.
struct LowerRange {
  char32_t first, last, lower_of_first;
};
constexpr LowerRange kNewerLowercase[] = {
    {0x1C89, 0x1C89, 0x1C8A},    {0xA7CB, 0xA7CB, 0x0264},    {0xA7CC, 0xA7CC, 0xA7CD}, {0xA7CE, 0xA7CE, 0xA7CF},
    {0xA7D2, 0xA7D2, 0xA7D3},    {0xA7D4, 0xA7D4, 0xA7D5},    {0xA7DA, 0xA7DA, 0xA7DB}, {0xA7DC, 0xA7DC, 0x019B},
    {0x10D50, 0x10D65, 0x10D70}, {0x16EA0, 0x16EB8, 0x16EBB},
};

char32_t newer_lowercase(char32_t c) {
  for (const LowerRange& r : kNewerLowercase) {
    if (c >= r.first && c <= r.last) {
      if (u_charType(static_cast<UChar32>(c)) != U_UNASSIGNED) return 0;
      return r.lower_of_first + (c - r.first);
    }
  }
  return 0;
}

bool is_ascii_punctuation(char32_t c) {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

// HF's NFD (the unicode-normalization-alignments crate) has Unicode 9.0 data: it neither decomposes
// nor reorders characters assigned later (of those only U+11938 has a decomposition, and about a
// hundred marks have a combining class). Measured like hf_char_type.
constexpr uint8_t kHfNormalizationUnicode = 9;

uint8_t hf_combining_class(char32_t c) {
  if (c < 0x300) return 0;
  const uint8_t ccc = u_getCombiningClass(static_cast<UChar32>(c));
  return ccc != 0 && newer_than_unicode(c, kHfNormalizationUnicode) ? 0 : ccc;
}

// Appends the full canonical decomposition of `c` (NFD of one character, not yet reordered).
void append_decomposition(char32_t c, std::u32string& out) {
  if (newer_than_unicode(c, kHfNormalizationUnicode)) {
    out.push_back(c);
    return;
  }
  UChar buf[32];
  UErrorCode err = U_ZERO_ERROR;
  const int32_t n = unorm2_getDecomposition(nfd_instance(), static_cast<UChar32>(c), buf, 32, &err);
  if (n < 0 || U_FAILURE(err)) {
    out.push_back(c);
    return;
  }
  for (int32_t i = 0; i < n;) {
    UChar32 d;
    U16_NEXT(buf, i, n, d);
    out.push_back(static_cast<char32_t>(d));
  }
}

// Canonical ordering: within each run of characters with a non-zero combining class, a stable sort
// by class. Together with append_decomposition this is NFD.
void canonical_order(std::u32string& s) {
  size_t i = 0;
  while (i < s.size()) {
    if (hf_combining_class(s[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i + 1;
    while (j < s.size() && hf_combining_class(s[j]) != 0) ++j;
    if (j - i > 1) {
      std::stable_sort(s.begin() + static_cast<ptrdiff_t>(i), s.begin() + static_cast<ptrdiff_t>(j),
                       [](char32_t a, char32_t b) { return hf_combining_class(a) < hf_combining_class(b); });
    }
    i = j;
  }
}

// Rust's char::to_lowercase: the full, context-free mapping (so Σ is always σ, never final ς, and
// İ becomes two characters). u_strToLower on a lone character has no context to apply.
void append_lower(char32_t c, std::u32string& out) {
  if (const char32_t newer = newer_lowercase(c)) {
    out.push_back(newer);
    return;
  }
  UChar src[2];
  int32_t len = 0;
  U16_APPEND_UNSAFE(src, len, static_cast<UChar32>(c));
  UChar dst[8];
  UErrorCode err = U_ZERO_ERROR;
  const int32_t n = u_strToLower(dst, 8, src, len, "", &err);
  if (U_FAILURE(err)) {
    out.push_back(c);
    return;
  }
  for (int32_t i = 0; i < n;) {
    UChar32 d;
    U16_NEXT(dst, i, n, d);
    out.push_back(static_cast<char32_t>(d));
  }
}

}  // namespace

char32_t decode_utf8(const unsigned char** pp, const unsigned char* end) {
  const unsigned char* p = *pp;
  const unsigned char b0 = *p;
  if (b0 < 0x80) {
    *pp = p + 1;
    return b0;
  }
  // Bounds of the second byte depend on the lead (Unicode Table 3-7); later bytes are 80..BF.
  int need;
  unsigned char lo = 0x80, hi = 0xBF;
  char32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    *pp = p + 1;
    return 0xFFFD;
  }
  ++p;
  for (int k = 0; k < need; ++k) {
    if (p == end || *p < lo || *p > hi) {
      *pp = p;  // the offending byte starts the next sequence
      return 0xFFFD;
    }
    cp = (cp << 6) | (*p & 0x3F);
    ++p;
    lo = 0x80;
    hi = 0xBF;
  }
  *pp = p;
  return cp;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

bool BertNormalizer::is_whitespace(char32_t c) {
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return true;
  if (c < 0x80) return c == 0x0B || c == 0x0C;
  return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_WHITE_SPACE);
}

bool BertNormalizer::is_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  if (c < 0x80) return c < 0x20 || c == 0x7F;
  const int8_t t = hf_char_type(c);
  return t == U_CONTROL_CHAR || t == U_FORMAT_CHAR || t == U_PRIVATE_USE_CHAR;
}

bool BertNormalizer::is_chinese_char(char32_t c) {
  // HF's list, which skips 2B820-2B91F (the original BERT's list does not).
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool BertNormalizer::is_punctuation(char32_t c) {
  if (c < 0x80) return is_ascii_punctuation(c);
  const int8_t t = hf_char_type(c);
  return t == U_DASH_PUNCTUATION || t == U_START_PUNCTUATION || t == U_END_PUNCTUATION ||
         t == U_CONNECTOR_PUNCTUATION || t == U_OTHER_PUNCTUATION || t == U_INITIAL_PUNCTUATION ||
         t == U_FINAL_PUNCTUATION;
}

bool BertNormalizer::is_nonspacing_mark(char32_t c) { return c >= 0x300 && hf_char_type(c) == U_NON_SPACING_MARK; }

BertNormalizer::BertNormalizer(const BertNormalizerOptions& options) : options_(options) {
  if (options_.strip_accents) nfd_instance();  // fail at construction, not mid-run
}

void BertNormalizer::normalize_to(std::string_view utf8, std::u32string& out) const {
  out.clear();
  out.reserve(utf8.size() + 8);
  const auto* p = reinterpret_cast<const unsigned char*>(utf8.data());
  const auto* end = p + utf8.size();
  bool all_ascii = true;
  // HF applies each step to the whole string in turn; clean-up and CJK spacing are per character, so
  // they fuse into the decoding pass.
  while (p < end) {
    const char32_t c = decode_utf8(&p, end);
    if (options_.clean_text) {
      if (c == 0 || c == 0xFFFD || is_control(c)) continue;
      if (is_whitespace(c)) {
        out.push_back(U' ');
        continue;
      }
    }
    if (c >= 0x80) all_ascii = false;
    if (options_.handle_chinese_chars && c >= 0x3400 && is_chinese_char(c)) {
      out.push_back(U' ');
      out.push_back(c);
      out.push_back(U' ');
      continue;
    }
    out.push_back(c);
  }
  if (all_ascii) {
    if (options_.lowercase)
      for (char32_t& c : out)
        if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
    return;
  }
  std::u32string tmp;
  if (options_.strip_accents) {
    // NFD of the whole string, then drop non-spacing marks; lower-casing comes after, so the U+0307
    // that lower-casing İ produces survives when accents are kept but not when they are stripped
    // (İ -> I + U+0307 -> I -> i).
    tmp.reserve(out.size() + 8);
    for (char32_t c : out) {
      if (c < 0xC0)
        tmp.push_back(c);  // nothing below U+00C0 decomposes
      else
        append_decomposition(c, tmp);
    }
    canonical_order(tmp);
    out.clear();
    for (char32_t c : tmp)
      if (!is_nonspacing_mark(c)) out.push_back(c);
  }
  if (options_.lowercase) {
    tmp.clear();
    for (char32_t c : out) {
      if (c < 0x80)
        tmp.push_back(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
      else
        append_lower(c, tmp);
    }
    out.swap(tmp);
  }
}

std::string BertNormalizer::normalize(std::string_view utf8) const {
  std::u32string cps;
  normalize_to(utf8, cps);
  std::string out;
  out.reserve(cps.size());
  for (char32_t c : cps) append_utf8(out, c);
  return out;
}

void BertNormalizer::split_words(std::string_view utf8, BertWords& out) const {
  std::u32string cps;
  normalize_to(utf8, cps);
  out.text.reserve(out.text.size() + cps.size());
  BertWords::Word cur;
  cur.begin = static_cast<uint32_t>(out.text.size());
  auto close_word = [&] {
    if (cur.chars > 0) out.words.push_back(cur);
    cur = BertWords::Word{};
    cur.begin = static_cast<uint32_t>(out.text.size());
  };
  for (char32_t c : cps) {
    if (is_whitespace(c)) {
      close_word();
    } else if (is_punctuation(c)) {
      close_word();
      append_utf8(out.text, c);
      cur.size = static_cast<uint32_t>(out.text.size()) - cur.begin;
      cur.chars = 1;
      close_word();
    } else {
      append_utf8(out.text, c);
      cur.size = static_cast<uint32_t>(out.text.size()) - cur.begin;
      ++cur.chars;
    }
  }
  close_word();
}

}  // namespace squish
