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

#if defined(__AVX2__)
// 6 rows × 16 columns: 12 accumulators, 2 weight vectors and a broadcast fill 15 of 16 registers.
constexpr int kMaxRows = 6;

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
    int32_t* out = a.acc + (r0 + r) * a.ldacc;
    if (a.cols == kTileColumns) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), acc[r][0]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8), acc[r][1]);
    } else {
      alignas(32) int32_t lanes[kTileColumns];
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), acc[r][0]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes + 8), acc[r][1]);
      std::memcpy(out, lanes, static_cast<size_t>(a.cols) * sizeof(int32_t));
    }
  }
}

#else
constexpr int kMaxRows = 1;

template <int R>
void tile_rows(const TileArgs& a, int64_t r0) {
  const int16_t* x = a.x + r0 * a.k2;
  int32_t* out = a.acc + r0 * a.ldacc;
  for (int64_t c = 0; c < a.cols; ++c) {
    int32_t sum = 0;
    for (int64_t p = 0; p < a.k2 / 2; ++p)
      for (int64_t i = 0; i < 2; ++i) sum += x[2 * p + i] * a.tile[32 * p + 2 * c + i];
    out[c] = sum;
  }
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
    case 5: tile_rows<5>(a, r0); break;
    default: break;
  }
#endif
}

}  // namespace

extern const Int8Kernels kInt8Kernels = {tile};

}  // namespace squish::int8::SQUISH_ISA_NS
