// Symmetric s8 codes of float rows, for the per-ISA impl headers that quantize activations on the
// fly (gemm_lowbit_impl.h: W4A8/W2A8 inputs; attention_int8_impl.h: Q and K) to include inside their
// SQUISH_ISA_NS namespace, like vector_math_impl.h. The rule is one: scale max|x| / 127, code
// round-half-even(x · inverse) in fp32 with inverse = lowbit::symmetric_inverse_scale(max|x|), the
// same float product and rounding on every ISA.
#pragma once

#ifndef SQUISH_ISA_NS
#error "define SQUISH_ISA_NS before including symmetric_codes_impl.h"
#endif

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace squish::SQUISH_ISA_NS {

// The lanes of a vector that hold elements 0 .. n − 1 (all of them for n ≥ the width, none for n ≤ 0).
#if defined(__AVX512F__)
static inline __mmask16 first_lanes(int64_t n) {
  return static_cast<__mmask16>(n >= 16 ? 0xFFFF : n <= 0 ? 0 : (1u << n) - 1);
}
#elif defined(__AVX2__)
static inline __m256i first_lanes(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(std::clamp<int64_t>(n, 0, 8))),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#endif

// max |x[i]| over n floats (0 for n = 0).
static inline float abs_max(const float* x, int64_t n) {
#if defined(__AVX512F__)
  __m512 m = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16)
    m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_maskz_loadu_ps(first_lanes(n - i), x + i)));
  return _mm512_reduce_max_ps(m);
#elif defined(__AVX2__)
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_setzero_ps();
  for (int64_t i = 0; i < n; i += 8)
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_maskload_ps(x + i, first_lanes(n - i))));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, m);
  return *std::max_element(lanes, lanes + 8);
#else
  float m = 0.0f;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  return m;
#endif
}

// Codes of x[0 .. n) (|code| ≤ 127), zero codes up to `padded` (a multiple of 16, ≥ n), each stored
// as the byte code + offset (0: the s8 code itself; 128: VNNI's unsigned u8 = code + 128). Returns
// the codes' sum, offset not included. Vector conversions round half to even, as nearbyint does.
static inline int32_t quantize_symmetric(uint8_t* out, const float* x, int64_t n, int64_t padded, float inverse,
                                         uint8_t offset) {
#if defined(__AVX512F__)
  const __m512 inv = _mm512_set1_ps(inverse);
  __m512i sum = _mm512_setzero_si512();
  for (int64_t i = 0; i < padded; i += 16) {
    const __m512i c = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(first_lanes(n - i), x + i), inv));
    sum = _mm512_add_epi32(sum, c);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm_add_epi8(_mm512_cvtsepi32_epi8(c), _mm_set1_epi8(static_cast<char>(offset))));
  }
  return _mm512_reduce_add_epi32(sum);
#elif defined(__AVX2__)
  const __m256 inv = _mm256_set1_ps(inverse);
  __m256i sum = _mm256_setzero_si256();
  for (int64_t i = 0; i < padded; i += 8) {
    const __m256i c = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_maskload_ps(x + i, first_lanes(n - i)), inv));
    sum = _mm256_add_epi32(sum, c);
    const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(c), _mm256_extracti128_si256(c, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + i),
                     _mm_add_epi8(_mm_packs_epi16(words, words), _mm_set1_epi8(static_cast<char>(offset))));
  }
  alignas(32) int32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), sum);
  int32_t total = 0;
  for (int32_t v : lanes) total += v;
  return total;
#else
  int32_t sum = 0;
  for (int64_t i = 0; i < padded; ++i) {
    const int32_t code = i < n ? static_cast<int32_t>(std::nearbyint(x[i] * inverse)) : 0;
    out[i] = static_cast<uint8_t>(code + offset);
    sum += code;
  }
  return sum;
#endif
}

}  // namespace squish::SQUISH_ISA_NS
