// The fp16-weight kernel of one ISA (isa_avx512/, isa_avx2/, isa_scalar/): blocks of rows of x
// times rows of W as dot products along K, the halves widened in registers (F16C's vcvtph2ps) and
// accumulated in fp32 lanes that are reduced once per output, so no fp32 copy of W ever exists.
// GCC 12's AVX-512 intrinsics build their pass-through operand from a self-initialised
// _mm512_undefined_*() (GCC bug 105593), which -Wuninitialized reports once they are inlined at -O3;
// the warning is silenced for the header's lines only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstring>

#include "core/dtype.h"
#include "kernels/lowbit_kernels.h"

#ifndef SQUISH_ISA_NS
#error "define SQUISH_ISA_NS before including gemm_f16_impl.h"
#endif

namespace squish::lowbit::SQUISH_ISA_NS {
namespace {

#if defined(__AVX512F__)
constexpr int kRows = 6, kCols = 4;

// One 16-wide step of every (row, column) dot product; `keep` masks K's tail. Each x row is
// loaded once and meets the C widened W rows, so R · C accumulators need only C + 1 more registers.
template <int R, int C>
inline void dot_step(__m512 (&sums)[R][C], const float* x, const uint16_t* w, int64_t k, int64_t p, __mmask16 keep) {
  __m512 wv[C];
#pragma GCC unroll 16
  for (int c = 0; c < C; ++c) wv[c] = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(keep, w + c * k + p));
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    const __m512 xv = _mm512_maskz_loadu_ps(keep, x + r * k + p);
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) sums[r][c] = _mm512_fmadd_ps(xv, wv[c], sums[r][c]);
  }
}

template <int R, int C>
void dot_block(float* y, int64_t ldy, const float* x, const uint16_t* w, const float* bias, int64_t k, bool accumulate) {
  __m512 sums[R][C];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) sums[r][c] = _mm512_setzero_ps();
  int64_t p = 0;
  for (; p + 16 <= k; p += 16) dot_step<R, C>(sums, x, w, k, p, static_cast<__mmask16>(0xFFFF));
  if (p < k) dot_step<R, C>(sums, x, w, k, p, static_cast<__mmask16>((1u << (k - p)) - 1u));
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) {
      const float v = _mm512_reduce_add_ps(sums[r][c]) + (bias ? bias[c] : 0.0f);
      y[r * ldy + c] = accumulate ? y[r * ldy + c] + v : v;
    }
}

#elif defined(__AVX2__)
constexpr int kRows = 2, kCols = 4;

float reduce_add(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

template <int R, int C>
void dot_block(float* y, int64_t ldy, const float* x, const uint16_t* w, const float* bias, int64_t k, bool accumulate) {
  __m256 sums[R][C];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) sums[r][c] = _mm256_setzero_ps();
  int64_t p = 0;
  for (; p + 8 <= k; p += 8) {
    __m256 xv[R], wv[C];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) xv[r] = _mm256_loadu_ps(x + r * k + p);
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c)
      wv[c] = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + c * k + p)));
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c) sums[r][c] = _mm256_fmadd_ps(xv[r], wv[c], sums[r][c]);
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) {
      float v = reduce_add(sums[r][c]);
      for (int64_t q = p; q < k; ++q) v += x[r * k + q] * _cvtsh_ss(w[c * k + q]);
      v += bias ? bias[c] : 0.0f;
      y[r * ldy + c] = accumulate ? y[r * ldy + c] + v : v;
    }
}

#else
constexpr int kRows = 2, kCols = 4;

template <int R, int C>
void dot_block(float* y, int64_t ldy, const float* x, const uint16_t* w, const float* bias, int64_t k, bool accumulate) {
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) {
      float v = 0.0f;
      for (int64_t p = 0; p < k; ++p) v += x[r * k + p] * half_to_float(w[c * k + p]);
      v += bias ? bias[c] : 0.0f;
      y[r * ldy + c] = accumulate ? y[r * ldy + c] + v : v;
    }
}
#endif

// The last rows < kRows of a block, as one register block of exactly that many rows.
template <int R, int C>
void tail_rows(float* y, int64_t ldy, const float* x, const uint16_t* w, const float* bias, int64_t rows, int64_t k,
               bool accumulate) {
  if constexpr (R > 0) {
    if (rows == R) dot_block<R, C>(y, ldy, x, w, bias, k, accumulate);
    else tail_rows<R - 1, C>(y, ldy, x, w, bias, rows, k, accumulate);
  }
}

template <int C>
void rows_block(float* y, int64_t ldy, const float* x, const uint16_t* w, const float* bias, int64_t rows, int64_t k,
                bool accumulate) {
  int64_t r = 0;
  for (; r + kRows <= rows; r += kRows) dot_block<kRows, C>(y + r * ldy, ldy, x + r * k, w, bias, k, accumulate);
  tail_rows<kRows - 1, C>(y + r * ldy, ldy, x + r * k, w, bias, rows - r, k, accumulate);
}

void block(float* y, int64_t ldy, const float* x, const uint16_t* w, const float* bias, int64_t rows, int64_t cols,
           int64_t k, bool accumulate) {
  int64_t c = 0;
  for (; c + kCols <= cols; c += kCols)
    rows_block<kCols>(y + c, ldy, x, w + c * k, bias ? bias + c : nullptr, rows, k, accumulate);
  for (; c < cols; ++c) rows_block<1>(y + c, ldy, x, w + c * k, bias ? bias + c : nullptr, rows, k, accumulate);
}

void add_row(float* out, const uint16_t* halves, int64_t k) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= k; i += 16)
    _mm512_storeu_ps(out + i, _mm512_add_ps(_mm512_loadu_ps(out + i),
                                            _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(halves + i)))));
#elif defined(__AVX2__)
  for (; i + 8 <= k; i += 8)
    _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_loadu_ps(out + i),
                                            _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(halves + i)))));
#endif
  for (; i < k; ++i) out[i] += half_to_float(halves[i]);
}

}  // namespace

extern const F16Kernels kF16Kernels = {block, add_row};

}  // namespace squish::lowbit::SQUISH_ISA_NS
