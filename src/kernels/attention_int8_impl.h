// One head of int8 attention, and one causal task of a KV group, for one ISA, compiled once per
// folder (isa_avx512vnni/, isa_avx2/, isa_scalar/; flags in src/kernels/CMakeLists.txt): VNNI's
// vpdpbusd, AVX2's vpmaddubsw on |q| × sign(k, q) (|q|, |k| ≤ 127 keep its int16 pair sums exact)
// and vpmaddwd on int16 P and V, or plain loops. The integer sums are equal on all three; layouts in
// attention_int8_kernels.h.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "kernels/attention_int8_kernels.h"
#include "kernels/lowbit_kernels.h"
#include "kernels/symmetric_codes_impl.h"
#include "kernels/vector_math_impl.h"

#ifndef SQUISH_ISA_NS
#error "define SQUISH_ISA_NS before including attention_int8_impl.h"
#endif

namespace squish::int8_attention::SQUISH_ISA_NS {
namespace {

using squish::SQUISH_ISA_NS::abs_max;
using squish::SQUISH_ISA_NS::exp_nonpositive;
#if defined(__AVX2__)
using squish::SQUISH_ISA_NS::first_lanes;
#endif
using squish::SQUISH_ISA_NS::quantize_symmetric;

#if defined(__AVX512VNNI__)
constexpr bool kVnni = true;
#else
constexpr bool kVnni = false;
#endif
#if defined(__AVX2__) && !defined(__AVX512VNNI__)
constexpr bool kInt16Values = true;  // AVX2: V and P widened to int16 for vpmaddwd
#else
constexpr bool kInt16Values = false;
#endif

// Queries are stored as q + 128 (u8) for vpdpbusd, else as signed q.
constexpr uint8_t kQueryOffset = kVnni ? 128 : 0;

[[maybe_unused]] int32_t load_quad(const void* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// code = round-half-even(x · inverse), the same float product and rounding on every ISA.
[[maybe_unused]] int32_t code_of(float x, float inverse) { return static_cast<int32_t>(std::nearbyint(x * inverse)); }

// A head's slice of token rows is a few cache lines every 3·H floats, a stride the hardware
// prefetchers do not follow: the walk over K asks for later rows' Q, K and V itself (K for now,
// Q and V into L2 for the passes after it).
constexpr int64_t kPrefetchRows = 8;
void prefetch_rows(const HeadArgs& a, int64_t j) {
  const int64_t bytes = a.head_dim * static_cast<int64_t>(sizeof(float));
  for (int64_t line = 0; line < bytes; line += 64) {
    _mm_prefetch(reinterpret_cast<const char*>(a.k + j * a.row_stride) + line, _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(a.v + j * a.row_stride) + line, _MM_HINT_T1);
    _mm_prefetch(reinterpret_cast<const char*>(a.q + j * a.row_stride) + line, _MM_HINT_T1);
  }
}

// K's rows (valid keys only) into tiles, with their scales and code sums.
void pack_keys(const HeadArgs& a, const HeadWorkspace& w, int64_t tk, int64_t hdp) {
  const int64_t quads = hdp / 4;
  std::fill_n(w.k, tk * hdp, int8_t{0});
  for (int64_t j = 0; j < kPrefetchRows && j < a.tokens; ++j) prefetch_rows(a, j);
  for (int64_t j = 0; j < tk; ++j) {
    if (j + kPrefetchRows < a.tokens) prefetch_rows(a, j + kPrefetchRows);
    if (j >= a.length) {
      w.k_scales[j] = 0.0f;
      w.k_sums[j] = 0;
      continue;
    }
    const float* row = a.k + j * a.row_stride;
    const float amax = abs_max(row, a.head_dim);
    w.k_scales[j] = amax / 127.0f;
    w.k_sums[j] = quantize_symmetric(w.row, row, a.head_dim, hdp, lowbit::symmetric_inverse_scale(amax), 0);
    int8_t* tile = w.k + (j / kKeyTile) * quads * 64 + (j % kKeyTile) * 4;
    for (int64_t d4 = 0; d4 < quads; ++d4) std::memcpy(tile + d4 * 64, w.row + d4 * 4, 4);
  }
}

// V per channel over the valid keys, packed by key quads (or int16 key pairs on AVX2).
void pack_values(const HeadArgs& a, const HeadWorkspace& w, int64_t tk, int64_t hdp) {
  const int64_t HD = a.head_dim;
  for (int64_t d = 0; d < hdp; d += 16) {  // a block of channels at a time, its maxima in registers
    float m[16] = {};
#if defined(__AVX512F__)
    const __mmask16 lanes = first_lanes(HD - d);
    __m512 mv = _mm512_setzero_ps();
    for (int64_t j = 0; j < a.length; ++j)
      mv = _mm512_max_ps(mv, _mm512_abs_ps(_mm512_maskz_loadu_ps(lanes, a.v + j * a.row_stride + d)));
    _mm512_storeu_ps(m, mv);
#elif defined(__AVX2__)
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256i lanes0 = first_lanes(HD - d), lanes1 = first_lanes(HD - d - 8);
    __m256 m0 = _mm256_setzero_ps(), m1 = _mm256_setzero_ps();
    for (int64_t j = 0; j < a.length; ++j) {
      const float* row = a.v + j * a.row_stride + d;
      m0 = _mm256_max_ps(m0, _mm256_andnot_ps(sign, _mm256_maskload_ps(row, lanes0)));
      m1 = _mm256_max_ps(m1, _mm256_andnot_ps(sign, _mm256_maskload_ps(row + 8, lanes1)));
    }
    _mm256_storeu_ps(m, m0);
    _mm256_storeu_ps(m + 8, m1);
#else
    for (int64_t j = 0; j < a.length; ++j) {
      const float* row = a.v + j * a.row_stride + d;
      for (int64_t i = 0; i < std::min<int64_t>(16, HD - d); ++i) m[i] = std::max(m[i], std::fabs(row[i]));
    }
#endif
    for (int64_t i = 0; i < 16; ++i) {
      w.v_scales[d + i] = m[i] / 127.0f;
      w.v_inverse_scales[d + i] = lowbit::symmetric_inverse_scale(m[i]);
    }
  }
  std::fill_n(w.v, tk * hdp * (kInt16Values ? 2 : 1), uint8_t{0});
#if defined(__AVX512VNNI__)
  // Four keys × 16 channels at a time: codes as bytes, transposed so each channel's 4 keys are adjacent.
  for (int64_t j = 0; j < a.length; j += 4) {
    for (int64_t d = 0; d < hdp; d += 16) {
      const __mmask16 lanes = first_lanes(HD - d);
      const __m512 inv = _mm512_load_ps(w.v_inverse_scales + d);
      __m128i r[4];
      for (int i = 0; i < 4; ++i)
        r[i] = j + i < a.length ? _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(
                                      _mm512_maskz_loadu_ps(lanes, a.v + (j + i) * a.row_stride + d), inv)))
                                : _mm_setzero_si128();
      const __m128i t0 = _mm_unpacklo_epi8(r[0], r[1]), t1 = _mm_unpackhi_epi8(r[0], r[1]);
      const __m128i t2 = _mm_unpacklo_epi8(r[2], r[3]), t3 = _mm_unpackhi_epi8(r[2], r[3]);
      __m128i* out = reinterpret_cast<__m128i*>(w.v + (j / 4) * hdp * 4 + d * 4);
      _mm_store_si128(out, _mm_unpacklo_epi16(t0, t2));
      _mm_store_si128(out + 1, _mm_unpackhi_epi16(t0, t2));
      _mm_store_si128(out + 2, _mm_unpacklo_epi16(t1, t3));
      _mm_store_si128(out + 3, _mm_unpackhi_epi16(t1, t3));
    }
  }
#elif defined(__AVX2__)
  // Two keys × 8 channels at a time: each channel's pair of int16 codes as one int32.
  const __m256i low_half = _mm256_set1_epi32(0xFFFF);
  for (int64_t j = 0; j < a.length; j += 2) {
    for (int64_t d = 0; d < hdp; d += 8) {
      const __m256i lanes = first_lanes(HD - d);
      const __m256 inv = _mm256_load_ps(w.v_inverse_scales + d);
      const __m256i c0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_maskload_ps(a.v + j * a.row_stride + d, lanes), inv));
      const __m256i c1 =
          j + 1 < a.length
              ? _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_maskload_ps(a.v + (j + 1) * a.row_stride + d, lanes), inv))
              : _mm256_setzero_si256();
      _mm256_store_si256(reinterpret_cast<__m256i*>(w.v + ((j / 2) * hdp * 2 + d * 2) * 2),
                         _mm256_or_si256(_mm256_and_si256(c0, low_half), _mm256_slli_epi32(c1, 16)));
    }
  }
#else
  for (int64_t j = 0; j < a.length; ++j) {
    const float* row = a.v + j * a.row_stride;
    int8_t* quad = reinterpret_cast<int8_t*>(w.v) + (j / 4) * hdp * 4 + j % 4;
    for (int64_t d = 0; d < HD; ++d) quad[4 * d] = static_cast<int8_t>(code_of(row[d], w.v_inverse_scales[d]));
  }
#endif
}

// V per key (causal attention: a key's codes must not depend on the keys after it), into the layout
// pack_values writes; its scales in v_token_scales (0 past the valid keys).
void pack_values_per_token(const HeadArgs& a, const HeadWorkspace& w, int64_t tk, int64_t hdp) {
  std::fill_n(w.v, tk * hdp * (kInt16Values ? 2 : 1), uint8_t{0});
  for (int64_t j = 0; j < tk; ++j) {
    if (j >= a.length) {
      w.v_token_scales[j] = 0.0f;
      continue;
    }
    const float* row = a.v + j * a.row_stride;
    const float amax = abs_max(row, a.head_dim);
    w.v_token_scales[j] = amax / 127.0f;
    quantize_symmetric(w.row, row, a.head_dim, hdp, lowbit::symmetric_inverse_scale(amax), 0);
    const int8_t* codes = reinterpret_cast<const int8_t*>(w.row);
    if constexpr (kInt16Values) {
      int16_t* pair = reinterpret_cast<int16_t*>(w.v) + (j / 2) * hdp * 2 + j % 2;
      for (int64_t d = 0; d < a.head_dim; ++d) pair[2 * d] = codes[d];
    } else {
      int8_t* quad = reinterpret_cast<int8_t*>(w.v) + (j / 4) * hdp * 4 + j % 4;
      for (int64_t d = 0; d < a.head_dim; ++d) quad[4 * d] = codes[d];
    }
  }
}

// A block's query rows (rows ≤ kRowBlock; the rest zero codes, scale 0).
void quantize_queries(const HeadArgs& a, const HeadWorkspace& w, int64_t first, int64_t rows, int64_t hdp) {
  for (int64_t r = 0; r < kRowBlock; ++r) {
    uint8_t* out = w.q + r * hdp;
    if (r >= rows) {
      std::fill_n(out, hdp, static_cast<uint8_t>(kQueryOffset));
      w.q_scales[r] = 0.0f;
      continue;
    }
    const float* row = a.q + (first + r) * a.row_stride;
    const float amax = abs_max(row, a.head_dim);
    w.q_scales[r] = amax / 127.0f * a.score_scale;
    quantize_symmetric(out, row, a.head_dim, hdp, lowbit::symmetric_inverse_scale(amax), kQueryOffset);
  }
}

// s[r, j] = float(Σ_d q·k) · sk[j] · sq[r], the same float operations on every ISA.
[[maybe_unused]] float score_of(int32_t dot, float key_scale, float row_scale) {
  return static_cast<float>(dot) * key_scale * row_scale;
}

#if defined(__AVX512VNNI__)
template <int kTiles>
void score_tiles(const HeadWorkspace& w, int64_t tile, int64_t tk, int64_t hdp) {
  const int64_t quads = hdp / 4;
  __m512i acc[kRowBlock][kTiles];
  for (auto& row : acc)
    for (auto& v : row) v = _mm512_setzero_si512();
  const int8_t* k = w.k + tile * quads * 64;
  for (int64_t d4 = 0; d4 < quads; ++d4) {
    __m512i kv[kTiles];
    for (int t = 0; t < kTiles; ++t) kv[t] = _mm512_load_si512(k + (t * quads + d4) * 64);
    for (int r = 0; r < kRowBlock; ++r) {
      const __m512i qb = _mm512_set1_epi32(load_quad(w.q + r * hdp + d4 * 4));
      for (int t = 0; t < kTiles; ++t) acc[r][t] = _mm512_dpbusd_epi32(acc[r][t], qb, kv[t]);
    }
  }
  for (int t = 0; t < kTiles; ++t) {
    const int64_t j = (tile + t) * kKeyTile;
    const __m512i correction = _mm512_slli_epi32(_mm512_load_si512(w.k_sums + j), 7);  // 128 · Σ k
    const __m512 key_scales = _mm512_load_ps(w.k_scales + j);
    for (int r = 0; r < kRowBlock; ++r) {
      const __m512 dot = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][t], correction));
      _mm512_store_ps(w.scores + r * tk + j,
                      _mm512_mul_ps(_mm512_mul_ps(dot, key_scales), _mm512_set1_ps(w.q_scales[r])));
    }
  }
}

void scores(const HeadWorkspace& w, int64_t tk, int64_t hdp) {
  const int64_t tiles = tk / kKeyTile;
  int64_t t = 0;
  for (; t + 2 <= tiles; t += 2) score_tiles<2>(w, t, tk, hdp);
  if (t < tiles) score_tiles<1>(w, t, tk, hdp);
}
#elif defined(__AVX2__)
// Four query rows against one 16-key tile, as two halves of 8 keys: |q| · (k · sign q) = q · k.
// One query row's quad against a tile's two halves: |q| · (k · sign q) = q · k, pair sums exact.
inline void score_step(__m256i& a0, __m256i& a1, const uint8_t* q, __m256i lo, __m256i hi, __m256i ones) {
  const __m256i qb = _mm256_set1_epi32(load_quad(q));
  const __m256i qa = _mm256_abs_epi8(qb);
  a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_maddubs_epi16(qa, _mm256_sign_epi8(lo, qb)), ones));
  a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_maddubs_epi16(qa, _mm256_sign_epi8(hi, qb)), ones));
}

// Four query rows against one 16-key tile, as two halves of 8 keys. The accumulators are named
// variables: as an array GCC 12 keeps some in memory, each step then waiting on a store.
void score_tile(const HeadWorkspace& w, int64_t first_row, int64_t tile, int64_t tk, int64_t hdp) {
  const int64_t quads = hdp / 4;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i a00 = _mm256_setzero_si256(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  const int8_t* k = w.k + tile * quads * 64;
  const uint8_t* q = w.q + first_row * hdp;
  for (int64_t d4 = 0; d4 < quads; ++d4) {
    const __m256i lo = _mm256_load_si256(reinterpret_cast<const __m256i*>(k + d4 * 64));
    const __m256i hi = _mm256_load_si256(reinterpret_cast<const __m256i*>(k + d4 * 64 + 32));
    score_step(a00, a01, q + d4 * 4, lo, hi, ones);
    score_step(a10, a11, q + hdp + d4 * 4, lo, hi, ones);
    score_step(a20, a21, q + 2 * hdp + d4 * 4, lo, hi, ones);
    score_step(a30, a31, q + 3 * hdp + d4 * 4, lo, hi, ones);
  }
  const __m256i acc[4][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};
  const int64_t j = tile * kKeyTile;
  for (int h = 0; h < 2; ++h) {
    const __m256 key_scales = _mm256_load_ps(w.k_scales + j + 8 * h);
    for (int r = 0; r < 4; ++r)
      _mm256_store_ps(w.scores + (first_row + r) * tk + j + 8 * h,
                      _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc[r][h]), key_scales),
                                    _mm256_set1_ps(w.q_scales[first_row + r])));
  }
}

void scores(const HeadWorkspace& w, int64_t tk, int64_t hdp) {
  for (int64_t tile = 0; tile < tk / kKeyTile; ++tile)
    for (int64_t r = 0; r < kRowBlock; r += 4) score_tile(w, r, tile, tk, hdp);
}
#else
void scores(const HeadWorkspace& w, int64_t tk, int64_t hdp) {
  const int64_t quads = hdp / 4;
  for (int64_t r = 0; r < kRowBlock; ++r)
    for (int64_t j = 0; j < tk; ++j) {
      const int8_t* tile = w.k + (j / kKeyTile) * quads * 64 + (j % kKeyTile) * 4;
      int32_t dot = 0;
      for (int64_t d = 0; d < hdp; ++d) dot += static_cast<int8_t>(w.q[r * hdp + d]) * tile[(d / 4) * 64 + d % 4];
      w.scores[r * tk + j] = score_of(dot, w.k_scales[j], w.q_scales[r]);
    }
}
#endif

// The masked softmax of each score row, straight to codes: with m the row's largest valid score,
// e_j = exp(s_j − m) ∈ (0, 1] (1 at the largest, so P / max P = e), code_j = round(255 · e_j) for
// valid keys and 0 past them, and the row's scale max P / 255 = 1 / (255 · Σ e). No normalised
// probabilities are ever stored. With `token_scales` (causal attention, V coded per key), each e_j
// is weighted by its key's V scale first, w_j = e_j · sv_j: code_j = round(255 · w_j / max w) and
// the scale max w / (255 · Σ e), so the integer sum over keys needs no per-key factor. Row r's valid
// keys are the first valid[r]; rows past `rows` (a short last block) get zero codes.
void probability_codes(const HeadWorkspace& w, int64_t rows, const int64_t* valid, const float* token_scales,
                       int64_t tk) {
  using Code = std::conditional_t<kInt16Values, int16_t, uint8_t>;
  for (int64_t r = 0; r < kRowBlock; ++r) {
    Code* out = reinterpret_cast<Code*>(w.p) + r * tk;
    if (r >= rows) {
      std::fill_n(out, tk, Code{0});
      w.p_scales[r] = 0.0f;
      continue;
    }
    float* s = w.scores + r * tk;
    const int64_t length = valid[r];
    float sum = 0.0f, weighted_max = 0.0f;
#if defined(__AVX512F__) || defined(__AVX2__)
    // A vector of keys at a time (tk is a multiple of 16); lanes past `length` are masked to 0.
#if defined(__AVX512F__)
    constexpr int64_t kLanes = 16;
    using Floats = __m512;
    __m512 mv = _mm512_set1_ps(-INFINITY);
    for (int64_t j = 0; j < length; j += kLanes)
      mv = _mm512_mask_max_ps(mv, first_lanes(length - j), mv, _mm512_load_ps(s + j));
    const float m = _mm512_reduce_max_ps(mv);
    __m512 total = _mm512_setzero_ps(), wmax = _mm512_setzero_ps();
    auto store_codes = [](Code* to, __m512 x) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(to), _mm512_cvtusepi32_epi8(_mm512_cvtps_epi32(x)));
    };
#else
    constexpr int64_t kLanes = 8;
    using Floats = __m256;
    __m256 mv = _mm256_set1_ps(-INFINITY);
    for (int64_t j = 0; j < length; j += kLanes)
      mv = _mm256_max_ps(mv, _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_load_ps(s + j),
                                              _mm256_castsi256_ps(first_lanes(length - j))));
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, mv);
    const float m = *std::max_element(lanes, lanes + 8);
    __m256 total = _mm256_setzero_ps(), wmax = _mm256_setzero_ps();
    auto store_codes = [](Code* to, __m256 x) {
      const __m256i c = _mm256_cvtps_epi32(x);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(to),
                       _mm_packs_epi32(_mm256_castsi256_si128(c), _mm256_extracti128_si256(c, 1)));
    };
#endif
    for (int64_t j = 0; j < tk; j += kLanes) {
      alignas(64) float e[kLanes];
#pragma omp simd
      for (int64_t i = 0; i < kLanes; ++i) e[i] = exp_nonpositive(s[j + i] - m);
#if defined(__AVX512F__)
      const Floats ev = _mm512_maskz_load_ps(first_lanes(length - j), e);
      total = _mm512_add_ps(total, ev);
      if (!token_scales) {
        store_codes(out + j, _mm512_mul_ps(ev, _mm512_set1_ps(255.0f)));
        continue;
      }
      const Floats weighted = _mm512_mul_ps(ev, _mm512_load_ps(token_scales + j));
      wmax = _mm512_max_ps(wmax, weighted);
      _mm512_store_ps(s + j, weighted);
#else
      const Floats ev = _mm256_and_ps(_mm256_load_ps(e), _mm256_castsi256_ps(first_lanes(length - j)));
      total = _mm256_add_ps(total, ev);
      if (!token_scales) {
        store_codes(out + j, _mm256_mul_ps(ev, _mm256_set1_ps(255.0f)));
        continue;
      }
      const Floats weighted = _mm256_mul_ps(ev, _mm256_load_ps(token_scales + j));
      wmax = _mm256_max_ps(wmax, weighted);
      _mm256_store_ps(s + j, weighted);
#endif
    }
#if defined(__AVX512F__)
    sum = _mm512_reduce_add_ps(total);
    if (token_scales) weighted_max = _mm512_reduce_max_ps(wmax);
#else
    _mm256_store_ps(lanes, total);
    for (float v : lanes) sum += v;
    if (token_scales) {
      _mm256_store_ps(lanes, wmax);
      weighted_max = *std::max_element(lanes, lanes + 8);
    }
#endif
    if (token_scales) {
      const float factor = weighted_max > 0.0f ? 255.0f / weighted_max : 0.0f;
#if defined(__AVX512F__)
      for (int64_t j = 0; j < tk; j += kLanes)
        store_codes(out + j, _mm512_mul_ps(_mm512_load_ps(s + j), _mm512_set1_ps(factor)));
#else
      for (int64_t j = 0; j < tk; j += kLanes)
        store_codes(out + j, _mm256_mul_ps(_mm256_load_ps(s + j), _mm256_set1_ps(factor)));
#endif
    }
#else
    float m = -INFINITY;
    for (int64_t j = 0; j < length; ++j) m = std::max(m, s[j]);
    for (int64_t j = 0; j < length; ++j) {
      const float e = exp_nonpositive(s[j] - m);
      sum += e;
      if (token_scales) {
        s[j] = e * token_scales[j];
        weighted_max = std::max(weighted_max, s[j]);
      } else {
        out[j] = static_cast<Code>(static_cast<int32_t>(std::nearbyint(e * 255.0f)));
      }
    }
    if (token_scales) {
      const float factor = weighted_max > 0.0f ? 255.0f / weighted_max : 0.0f;
      for (int64_t j = 0; j < length; ++j)
        out[j] = static_cast<Code>(static_cast<int32_t>(std::nearbyint(s[j] * factor)));
    }
    std::fill(out + length, out + tk, Code{0});
#endif
    w.p_scales[r] = (token_scales ? weighted_max : 1.0f) / (255.0f * sum);
  }
}

// ctx[r, d] = float(Σ_j p·v) · sv[d] · sp[r].
#if defined(__AVX512VNNI__)
template <int kChannelTiles>
inline void context_step(__m512i (&acc)[kChannelTiles], const uint8_t* p, const __m512i (&vv)[kChannelTiles]) {
  const __m512i pb = _mm512_set1_epi32(load_quad(p));
  for (int c = 0; c < kChannelTiles; ++c) acc[c] = _mm512_dpbusd_epi32(acc[c], pb, vv[c]);
}

// Four query rows against kChannelTiles · 16 channels, a key quad a step. One accumulator array
// per row: as one two-dimensional array GCC 12 spills some and shuffles the rest between registers.
template <int kChannelTiles>
void context_tiles(const HeadArgs& a, const HeadWorkspace& w, int64_t first, int64_t rows, int64_t first_row,
                   int64_t channel_tile, int64_t tk, int64_t hdp) {
  __m512i acc0[kChannelTiles], acc1[kChannelTiles], acc2[kChannelTiles], acc3[kChannelTiles];
  for (int c = 0; c < kChannelTiles; ++c) acc0[c] = acc1[c] = acc2[c] = acc3[c] = _mm512_setzero_si512();
  const int8_t* v = reinterpret_cast<const int8_t*>(w.v) + channel_tile * 64;
  const uint8_t* p = w.p + first_row * tk;
  for (int64_t kq = 0; kq < tk / 4; ++kq) {
    __m512i vv[kChannelTiles];
    for (int c = 0; c < kChannelTiles; ++c) vv[c] = _mm512_load_si512(v + kq * hdp * 4 + c * 64);
    context_step(acc0, p + kq * 4, vv);
    context_step(acc1, p + tk + kq * 4, vv);
    context_step(acc2, p + 2 * tk + kq * 4, vv);
    context_step(acc3, p + 3 * tk + kq * 4, vv);
  }
  const __m512i* acc[4] = {acc0, acc1, acc2, acc3};
  for (int c = 0; c < kChannelTiles; ++c) {
    const int64_t d = (channel_tile + c) * 16;
    const __m512 value_scales = _mm512_load_ps(w.v_scales + d);
    const __mmask16 mask = first_lanes(a.head_dim - d);
    for (int r = 0; r < 4 && first_row + r < rows; ++r)
      _mm512_mask_storeu_ps(a.ctx + (first + first_row + r) * a.ctx_stride + d, mask,
                            _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc[r][c]), value_scales),
                                          _mm512_set1_ps(w.p_scales[first_row + r])));
  }
}

void context(const HeadArgs& a, const HeadWorkspace& w, int64_t first, int64_t rows, int64_t tk, int64_t hdp) {
  const int64_t channel_tiles = (a.head_dim + 15) / 16;
  for (int64_t r = 0; r < rows; r += 4)
    for (int64_t c = 0; c < channel_tiles; c += 4) {
      switch (std::min<int64_t>(4, channel_tiles - c)) {
        case 4: context_tiles<4>(a, w, first, rows, r, c, tk, hdp); break;
        case 3: context_tiles<3>(a, w, first, rows, r, c, tk, hdp); break;
        case 2: context_tiles<2>(a, w, first, rows, r, c, tk, hdp); break;
        default: context_tiles<1>(a, w, first, rows, r, c, tk, hdp); break;
      }
    }
}
#elif defined(__AVX2__)
inline void context_step(__m256i& a0, __m256i& a1, const int16_t* p, __m256i v0, __m256i v1) {
  const __m256i pb = _mm256_set1_epi32(load_quad(p));
  a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(pb, v0));
  a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(pb, v1));
}

// Four rows against 16 channels (two vectors of 8), one key pair a step; named accumulators as in
// score_tile.
void context_block(const HeadArgs& a, const HeadWorkspace& w, int64_t first, int64_t rows, int64_t first_row,
                   int64_t channel, int64_t tk, int64_t hdp) {
  constexpr int kRows = 4;
  __m256i a00 = _mm256_setzero_si256(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  const int16_t* v = reinterpret_cast<const int16_t*>(w.v) + channel * 2;
  const int16_t* p = reinterpret_cast<const int16_t*>(w.p) + first_row * tk;
  for (int64_t pair = 0; pair < tk / 2; ++pair) {
    const __m256i v0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(v + pair * hdp * 2));
    const __m256i v1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(v + pair * hdp * 2 + 16));
    context_step(a00, a01, p + pair * 2, v0, v1);
    context_step(a10, a11, p + tk + pair * 2, v0, v1);
    context_step(a20, a21, p + 2 * tk + pair * 2, v0, v1);
    context_step(a30, a31, p + 3 * tk + pair * 2, v0, v1);
  }
  const __m256i acc[kRows][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};
  float out[8];
  for (int h = 0; h < 2; ++h) {
    const int64_t d = channel + 8 * h;
    if (d >= a.head_dim) break;
    const __m256 value_scales = _mm256_load_ps(w.v_scales + d);
    for (int r = 0; r < kRows && first_row + r < rows; ++r) {
      _mm256_storeu_ps(out, _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc[r][h]), value_scales),
                                          _mm256_set1_ps(w.p_scales[first_row + r])));
      std::copy_n(out, std::min<int64_t>(8, a.head_dim - d), a.ctx + (first + first_row + r) * a.ctx_stride + d);
    }
  }
}

void context(const HeadArgs& a, const HeadWorkspace& w, int64_t first, int64_t rows, int64_t tk, int64_t hdp) {
  for (int64_t r = 0; r < rows; r += 4)
    for (int64_t d = 0; d < a.head_dim; d += 16) context_block(a, w, first, rows, r, d, tk, hdp);
}
#else
void context(const HeadArgs& a, const HeadWorkspace& w, int64_t first, int64_t rows, int64_t tk, int64_t hdp) {
  const int8_t* v = reinterpret_cast<const int8_t*>(w.v);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t d = 0; d < a.head_dim; ++d) {
      int32_t dot = 0;
      for (int64_t j = 0; j < tk; ++j)
        dot += static_cast<int32_t>(w.p[r * tk + j]) * v[(j / 4) * hdp * 4 + d * 4 + j % 4];
      a.ctx[(first + r) * a.ctx_stride + d] = score_of(dot, w.v_scales[d], w.p_scales[r]);
    }
}
#endif

void head(const HeadArgs& a) {
  HeadWorkspace w;
  carve_head_workspace(a.workspace, a.tokens, a.head_dim, &w);
  const int64_t tk = round_up(a.length, kKeyTile), hdp = round_up(a.head_dim, 16);
  pack_keys(a, w, tk, hdp);
  pack_values(a, w, tk, hdp);
  int64_t valid[kRowBlock];
  std::fill_n(valid, kRowBlock, a.length);
  for (int64_t first = 0; first < a.queries; first += kRowBlock) {
    const int64_t rows = std::min(kRowBlock, a.queries - first);
    quantize_queries(a, w, first, rows, hdp);
    scores(w, tk, hdp);
    probability_codes(w, rows, valid, nullptr, tk);
    context(a, w, first, rows, tk, hdp);
  }
}

// Query i sees keys j ≤ i (a padded query, i ≥ length, key 0 alone) whose branch is 0 or its own.
// K and V are packed once for the task's key prefix and serve every head of the group; each block
// of query rows scores only the keys its last row sees, rounded up to a tile.
void causal_group(const CausalBlock& c) {
  HeadWorkspace w;
  carve_head_workspace(c.workspace, c.tokens, c.head_dim, &w);
  HeadArgs a;
  a.q = c.q;
  a.k = c.k;
  a.v = c.v;
  a.row_stride = c.row_stride;
  a.ctx = c.ctx;
  a.ctx_stride = c.ctx_stride;
  a.tokens = c.tokens;
  a.queries = c.rows;
  a.length = c.length;
  a.head_dim = c.head_dim;
  a.score_scale = c.score_scale;
  a.workspace = c.workspace;
  HeadArgs keys = a;
  keys.length = std::max<int64_t>(1, std::min(c.first + c.rows, c.length));
  const int64_t hdp = round_up(a.head_dim, 16), tk = round_up(keys.length, kKeyTile);
  pack_keys(keys, w, tk, hdp);
  pack_values_per_token(keys, w, tk, hdp);
  std::fill_n(w.v_scales, hdp, 1.0f);  // the scales are in P's codes
  for (int64_t member = 0; member < c.group; ++member) {
    HeadArgs h = a;
    h.q += member * a.head_dim;
    h.ctx += member * a.head_dim;
    for (int64_t r0 = 0; r0 < a.queries; r0 += kRowBlock) {
      const int64_t first = c.first + r0, rows = std::min(kRowBlock, a.queries - r0);
      int64_t valid[kRowBlock] = {};
      for (int64_t r = 0; r < rows; ++r) valid[r] = causal_visible_keys(first + r, a.length);
      const int64_t block_keys = round_up(*std::max_element(valid, valid + kRowBlock), kKeyTile);
      quantize_queries(h, w, first, rows, hdp);
      scores(w, block_keys, hdp);
      if (c.branch)  // a padded query sees key 0 alone, whatever its branch
        for (int64_t r = 0; r < rows && first + r < a.length; ++r)
          for (int64_t j = 0; j < valid[r]; ++j)
            if (!branch_visible(c.branch, first + r, j)) w.scores[r * block_keys + j] = -INFINITY;
      probability_codes(w, rows, valid, w.v_token_scales, block_keys);
      context(h, w, first, rows, block_keys, hdp);
    }
  }
}

}  // namespace

extern const AttentionInt8Kernels kAttentionInt8Kernels;
const AttentionInt8Kernels kAttentionInt8Kernels = {head, causal_group};

}  // namespace squish::int8_attention::SQUISH_ISA_NS
