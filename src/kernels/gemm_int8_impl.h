// The int8 GEMM kernels of one ISA for machines without AVX-512 VNNI, compiled once per folder
// (isa_avx2/, isa_scalar/; flags in src/kernels/CMakeLists.txt): AVX2's vpmaddwd on widened int16
// pairs, or plain loops. The layout they read is documented in int8_kernels.h.
#include <immintrin.h>

#include <cstring>

#include "kernels/int8_kernels.h"

#ifndef SQUISH_ISA_NS
#error "define SQUISH_ISA_NS before including gemm_int8_impl.h"
#endif

namespace squish::int8::SQUISH_ISA_NS {
namespace {

// Row r's cols products, stored as int32 or through the output stage (the scalar twin of
// store_dequantized, also used for partial tiles).
void store_row(const TileArgs& a, int64_t r, const int32_t* products) {
  if (!a.out.y) {
    std::memcpy(a.acc + r * a.ldacc, products, static_cast<size_t>(a.cols) * sizeof(int32_t));
    return;
  }
  const OutputStage& o = a.out;
  float* y = o.y + r * o.ldy;
  for (int64_t c = 0; c < a.cols; ++c) {
    const float centred = static_cast<float>(products[c] - o.row_zero_points[r] * o.col_sums[c]);
    const float v = o.row_scales[r] * o.col_scales[c] * centred + (o.bias ? o.bias[c] : 0.0f);
    y[c] = o.accumulate ? y[c] + v : v;
  }
}

#if defined(__AVX2__)
// A full row of 16 products through the output stage. Inlined, with the products passed by value:
// taking the accumulators' address kept them on the stack through the whole K loop.
__attribute__((always_inline)) inline void store_dequantized(const OutputStage& o, int64_t r, __m256i low,
                                                             __m256i high) {
  float* y = o.y + r * o.ldy;
  const __m256 row_scale = _mm256_set1_ps(o.row_scales[r]);
  const __m256i zero_point = _mm256_set1_epi32(o.row_zero_points[r]);
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    const __m256i sums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(o.col_sums + 8 * h));
    const __m256i products = h == 0 ? low : high;
    const __m256 centred = _mm256_cvtepi32_ps(_mm256_sub_epi32(products, _mm256_mullo_epi32(zero_point, sums)));
    const __m256 scale = _mm256_mul_ps(row_scale, _mm256_loadu_ps(o.col_scales + 8 * h));
    const __m256 bias = o.bias ? _mm256_loadu_ps(o.bias + 8 * h) : _mm256_setzero_ps();
    __m256 v = _mm256_fmadd_ps(scale, centred, bias);
    if (o.accumulate) v = _mm256_add_ps(_mm256_loadu_ps(y + 8 * h), v);
    _mm256_storeu_ps(y + 8 * h, v);
  }
}

constexpr int kMaxRows = kRowGranule;

int32_t load_pair(const int16_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <int R>
void tile_rows(const TileArgs& a, int64_t r0) {
  __m256i acc[R][2];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  const int16_t* x = a.x + r0 * a.k2;
  const int64_t pairs = a.k2 / 2;
  for (int64_t p = 0; p < pairs; ++p) {
    const auto* block = reinterpret_cast<const __m128i*>(a.tile + 32 * p);
    const __m256i w0 = _mm256_cvtepi8_epi16(_mm_load_si128(block));
    const __m256i w1 = _mm256_cvtepi8_epi16(_mm_load_si128(block + 1));
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256i xp = _mm256_set1_epi32(load_pair(x + r * a.k2 + 2 * p));
      acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(xp, w0));
      acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(xp, w1));
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    if (a.out.y && a.cols == kTileColumns) {
      store_dequantized(a.out, r0 + r, acc[r][0], acc[r][1]);
    } else if (a.cols == kTileColumns) {
      int32_t* out = a.acc + (r0 + r) * a.ldacc;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), acc[r][0]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8), acc[r][1]);
    } else {
      alignas(32) int32_t lanes[kTileColumns];
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), acc[r][0]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes + 8), acc[r][1]);
      store_row(a, r0 + r, lanes);
    }
  }
}

#else
constexpr int kMaxRows = 1;

template <int R>
void tile_rows(const TileArgs& a, int64_t r0) {
  const int16_t* x = a.x + r0 * a.k2;
  int32_t products[kTileColumns];
  for (int64_t c = 0; c < a.cols; ++c) {
    int32_t sum = 0;
    for (int64_t p = 0; p < a.k2 / 2; ++p)
      for (int64_t i = 0; i < 2; ++i) sum += x[2 * p + i] * a.tile[32 * p + 2 * c + i];
    products[c] = sum;
  }
  store_row(a, r0, products);
}
#endif

void tile(const TileArgs& a) {
  int64_t r0 = 0;
  for (; r0 + kMaxRows <= a.rows; r0 += kMaxRows) tile_rows<kMaxRows>(a, r0);
#if defined(__AVX2__)
  switch (a.rows - r0) {
    case 1: tile_rows<1>(a, r0); break;
    case 2: tile_rows<2>(a, r0); break;
    case 3: tile_rows<3>(a, r0); break;
    case 4: tile_rows<4>(a, r0); break;
    default: break;
  }
#endif
}

}  // namespace

extern const Int8Kernels kInt8Kernels = {tile};

}  // namespace squish::int8::SQUISH_ISA_NS
