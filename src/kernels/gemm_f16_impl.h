// The fp16-weight kernel of one ISA (isa_avx512/, isa_avx2/, isa_scalar/) on consecutive panels of
// 32 output columns (kernels/lowbit_kernels.h): register blocks of rows × columns, each step
// broadcasting x[r, p] against the panels' row p widened in registers (F16C's vcvtph2ps), so no
// fp32 copy of W ever exists and every sum is a run of FMAs in one lane, p in order.
// GCC 12's AVX-512 intrinsics build their pass-through operand from a self-initialised
// _mm512_undefined_*() (GCC bug 105593), which -Wuninitialized reports once they are inlined at -O3;
// the warning is silenced for the header's lines only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cmath>

#include "core/dtype.h"
#include "kernels/lowbit_kernels.h"

#ifndef SQUISH_ISA_NS
#error "define SQUISH_ISA_NS before including gemm_f16_impl.h"
#endif

namespace squish::lowbit::SQUISH_ISA_NS {
namespace {

constexpr int64_t kPanel = kF16PanelColumns;

#if defined(__AVX512F__) || defined(__AVX2__)
#if defined(__AVX512F__)
using Vec = __m512;
constexpr int kLanes = 16, kRegisters = 32, kRows = 12, kAccumulators = 24;
inline Vec widen(const uint16_t* h) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h))); }
inline Vec broadcast(const float* x) { return _mm512_set1_ps(*x); }
inline Vec fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
inline void store(float* out, Vec v) { _mm512_storeu_ps(out, v); }
inline Vec zero() { return _mm512_setzero_ps(); }
#else
using Vec = __m256;
constexpr int kLanes = 8, kRegisters = 16, kRows = 6, kAccumulators = 12;
inline Vec widen(const uint16_t* h) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h))); }
inline Vec broadcast(const float* x) { return _mm256_broadcast_ss(x); }
inline Vec fmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
inline void store(float* out, Vec v) { _mm256_storeu_ps(out, v); }
inline Vec zero() { return _mm256_setzero_ps(); }
#endif

// Vectors of columns a block of R rows takes at once: about kAccumulators independent FMA chains
// (a row alone would wait on each FMA's latency), with the V widened weights and a broadcast still
// in registers, and no more than a work item's columns.
constexpr int vectors_for(int rows) {
  return std::max(1, std::min({kAccumulators / rows, (kRegisters - 1) / (rows + 1),
                               static_cast<int>(kF16PanelColumns * kF16PanelsPerItem / kLanes)}));
}

// R rows × V vectors of kLanes columns from column c0 of the panels (c0 a multiple of kLanes; a
// vector never crosses a panel). Each output is one FMA chain along p.
template <int R, int V>
void block(float* y, int64_t ldy, const float* x, const uint16_t* panels, int64_t c0, const float* bias, int64_t cols,
           int64_t k, bool accumulate) {
  const uint16_t* starts[V];
#pragma GCC unroll 32
  for (int v = 0; v < V; ++v) {
    const int64_t c = c0 + v * kLanes;
    starts[v] = panels + c / kPanel * k * kPanel + c % kPanel;
  }
  Vec sums[R][V];
#pragma GCC unroll 32
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 32
    for (int v = 0; v < V; ++v) sums[r][v] = zero();
  for (int64_t p = 0; p < k; ++p) {
    Vec w[V];
#pragma GCC unroll 32
    for (int v = 0; v < V; ++v) w[v] = widen(starts[v] + p * kPanel);
#pragma GCC unroll 32
    for (int r = 0; r < R; ++r) {
      const Vec xv = broadcast(x + r * k + p);
#pragma GCC unroll 32
      for (int v = 0; v < V; ++v) sums[r][v] = fmadd(xv, w[v], sums[r][v]);
    }
  }
  const int64_t width = std::min<int64_t>(cols - c0, V * kLanes);
#pragma GCC unroll 32
  for (int r = 0; r < R; ++r) {
    alignas(64) float lanes[V * kLanes];
#pragma GCC unroll 32
    for (int v = 0; v < V; ++v) store(lanes + v * kLanes, sums[r][v]);
    float* out = y + r * ldy + c0;
    for (int64_t j = 0; j < width; ++j) {
      const float value = lanes[j] + (bias ? bias[c0 + j] : 0.0f);
      out[j] = accumulate ? out[j] + value : value;
    }
  }
}

// The item's last columns, in vectors (at most V; a part of the last one is still read whole), as
// one block of exactly that many.
template <int R, int V>
void tail_vectors(float* y, int64_t ldy, const float* x, const uint16_t* panels, int64_t c0, const float* bias,
                  int64_t cols, int64_t k, bool accumulate, int64_t vectors) {
  if constexpr (V > 0) {
    if (vectors == V)
      block<R, V>(y, ldy, x, panels, c0, bias, cols, k, accumulate);
    else
      tail_vectors<R, V - 1>(y, ldy, x, panels, c0, bias, cols, k, accumulate, vectors);
  }
}

// R rows across the item's columns. Columns past `cols` up to the panel's 32 are zero padding, so
// a vector that starts before `cols` may be read whole.
template <int R>
void rows_block(float* y, int64_t ldy, const float* x, const uint16_t* panels, const float* bias, int64_t cols,
                int64_t k, bool accumulate) {
  constexpr int kVectors = vectors_for(R);
  int64_t c = 0;
  for (; c + kVectors * kLanes <= cols; c += kVectors * kLanes)
    block<R, kVectors>(y, ldy, x, panels, c, bias, cols, k, accumulate);
  if (c < cols)
    tail_vectors<R, kVectors>(y, ldy, x, panels, c, bias, cols, k, accumulate, (cols - c + kLanes - 1) / kLanes);
}

#else
constexpr int kRows = 2;

template <int R>
void rows_block(float* y, int64_t ldy, const float* x, const uint16_t* panels, const float* bias, int64_t cols,
                int64_t k, bool accumulate) {
  for (int r = 0; r < R; ++r)
    for (int64_t j = 0; j < cols; ++j) {
      const uint16_t* panel = panels + j / kPanel * k * kPanel;
      float v = 0.0f;
      for (int64_t p = 0; p < k; ++p) v = std::fma(x[r * k + p], half_to_float(panel[p * kPanel + j % kPanel]), v);
      v += bias ? bias[j] : 0.0f;
      y[r * ldy + j] = accumulate ? y[r * ldy + j] + v : v;
    }
}
#endif

// The last rows < kRows of a block, as one register block of exactly that many rows.
template <int R>
void tail_rows(float* y, int64_t ldy, const float* x, const uint16_t* panels, const float* bias, int64_t rows,
               int64_t cols, int64_t k, bool accumulate) {
  if constexpr (R > 0) {
    if (rows == R)
      rows_block<R>(y, ldy, x, panels, bias, cols, k, accumulate);
    else
      tail_rows<R - 1>(y, ldy, x, panels, bias, rows, cols, k, accumulate);
  }
}

void panels_rows(float* y, int64_t ldy, const float* x, const uint16_t* panels, const float* bias, int64_t rows,
                 int64_t cols, int64_t k, bool accumulate) {
  int64_t r = 0;
  for (; r + kRows <= rows; r += kRows)
    rows_block<kRows>(y + r * ldy, ldy, x + r * k, panels, bias, cols, k, accumulate);
  tail_rows<kRows - 1>(y + r * ldy, ldy, x + r * k, panels, bias, rows - r, cols, k, accumulate);
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

extern const F16Kernels kF16Kernels = {panels_rows, add_row};

}  // namespace squish::lowbit::SQUISH_ISA_NS
