// The low-bit kernels of one ISA, compiled once per folder (isa_avx512vnni/, isa_avx2/,
// isa_scalar/; flags in src/kernels/CMakeLists.txt): VNNI's vpdpbusd, AVX2's vpmaddubsw +
// vpmaddwd (codes ≤ 15 times |xq| ≤ 127 cannot saturate its int16 pair sums), or plain loops.
// The layout they read is documented in lowbit_kernels.h.
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
#include <cstring>

#include "core/dtype.h"
#include "kernels/lowbit_kernels.h"
#include "kernels/lowbit_scheme.h"
#include "kernels/symmetric_codes_impl.h"

#ifndef SQUISH_ISA_NS
#error "define SQUISH_ISA_NS before including gemm_lowbit_impl.h"
#endif

namespace squish::lowbit::SQUISH_ISA_NS {
namespace {

using squish::SQUISH_ISA_NS::abs_max;
using squish::SQUISH_ISA_NS::quantize_symmetric;

#if defined(__AVX2__)
// Four activation codes as one int32, to broadcast to every column's lane.
int32_t load_quad(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
#endif

// Each group's codes and sum in one pass (G is a multiple of 16: no padding).
void quantize_rows(const QuantizedRows& out, const float* x, int64_t rows, int64_t k, int64_t group_size) {
  const int64_t groups = k / group_size;
#pragma omp parallel for schedule(static) if (rows * k > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * k;
    uint8_t* q = reinterpret_cast<uint8_t*>(out.codes + r * k);
    const float amax = abs_max(xr, k);
    out.scales[r] = amax / 127.0f;
    const float inverse = symmetric_inverse_scale(amax);
    for (int64_t g = 0; g < groups; ++g)
      out.group_sums[r * groups + g] =
          quantize_symmetric(q + g * group_size, xr + g * group_size, group_size, group_size, inverse, 0);
  }
}

#if defined(__AVX2__)
// The y lines a tile will read (a residual) or overwrite, requested before its K loop so they
// arrive while it multiplies: y rows are ldy apart, too many streams for the hardware
// prefetcher, and a residual's loads otherwise stalled on memory for as long as the multiply took.
template <int R>
void prefetch_outputs(const TileArgs& a, int64_t r0) {
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    const float* y = a.y + (r0 + r) * a.ldy;
    _mm_prefetch(reinterpret_cast<const char*>(y), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(y + a.cols - 1), _MM_HINT_T0);
  }
}
#endif

#if defined(__AVX512VNNI__)
// 6 rows × 2 tiles: 12 int32 group sums and 12 fp32 totals, the two tiles' codes, their unpacked
// quads and a broadcast in the 32 registers.
constexpr int kMaxRows = 6;

// Quad s of a code vector (BITS bits a code, 8 / BITS quads to a byte), one code a byte.
template <int BITS>
inline __m512i quad_codes(__m512i packed, int s, __m512i mask) {
  return _mm512_and_si512(s == 0 ? packed : _mm512_srli_epi16(packed, static_cast<unsigned>(s * BITS)), mask);
}

// R rows × C consecutive tiles: every broadcast activation quad feeds C vpdpbusd.
template <int R, int BITS, int C>
void tile_rows(const TileArgs& a, int64_t r0) {
  constexpr int kQuadsPerVector = 8 / BITS;
  const int64_t groups = a.k / a.group_size, code_bytes = group_code_bytes(BITS, a.group_size);
  const int64_t block_bytes = group_block_bytes(BITS, a.group_size);
  const __m512i mask = _mm512_set1_epi8(static_cast<char>(max_code(BITS)));
  const int8_t* xq = a.xq + r0 * a.k;
  prefetch_outputs<R>(a, r0);
  __m512 total[R][C];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) total[r][c] = _mm512_setzero_ps();
  for (int64_t g = 0; g < groups; ++g) {
    const uint8_t* block[C];
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) block[c] = a.blocks + c * a.tile_bytes + g * block_bytes;
    const int8_t* xg = xq + g * a.group_size;
    __m512i dots[R][C];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) dots[r][c] = _mm512_setzero_si512();
    for (int64_t v = 0; v < code_bytes / 64; ++v) {
      __m512i packed[C];
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) packed[c] = _mm512_load_si512(block[c] + 64 * v);
#pragma GCC unroll 16
      for (int s = 0; s < kQuadsPerVector; ++s) {
        __m512i w[C];
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) w[c] = quad_codes<BITS>(packed[c], s, mask);
        const int8_t* xk = xg + (v * kQuadsPerVector + s) * 4;
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r) {
          const __m512i x4 = _mm512_set1_epi32(load_quad(xk + r * a.k));
#pragma GCC unroll 4
          for (int c = 0; c < C; ++c) dots[r][c] = _mm512_dpbusd_epi32(dots[r][c], w[c], x4);
        }
      }
    }
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) {
      const __m512 scales = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(block[c] + code_bytes)));
      const __m512 minimums =
          _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(block[c] + code_bytes + 32)));
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        total[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dots[r][c]), scales, total[r][c]);
        const float sum = static_cast<float>(a.group_sums[(r0 + r) * groups + g]);
        total[r][c] = _mm512_fmadd_ps(minimums, _mm512_set1_ps(sum), total[r][c]);
      }
    }
  }
#pragma GCC unroll 4
  for (int c = 0; c < C; ++c) {
    const int64_t cols = std::min<int64_t>(kTileColumns, a.cols - c * kTileColumns);
    const __mmask16 keep = static_cast<__mmask16>((1u << cols) - 1u);
    const __m512 bias = a.bias ? _mm512_maskz_loadu_ps(keep, a.bias + c * kTileColumns) : _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      float* y = a.y + (r0 + r) * a.ldy + c * kTileColumns;
      __m512 out = _mm512_fmadd_ps(total[r][c], _mm512_set1_ps(a.row_scales[r0 + r]), bias);
      if (a.accumulate) out = _mm512_add_ps(out, _mm512_maskz_loadu_ps(keep, y));
      _mm512_mask_storeu_ps(y, keep, out);
    }
  }
}

#elif defined(__AVX2__)
constexpr int kMaxRows = 4;

// Σ over 4-byte lanes of u8 codes × s8 activations, exact: the int16 pair sums stay ≤ 2 · 15 · 127.
__m256i dot_quads(__m256i codes, __m256i activations) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(codes, activations), _mm256_set1_epi16(1));
}

template <int R, int BITS>
void tile_rows(const TileArgs& a, int64_t r0) {
  constexpr int kQuadsPerVector = 8 / BITS;
  const int64_t groups = a.k / a.group_size, code_bytes = group_code_bytes(BITS, a.group_size);
  const int64_t block_bytes = group_block_bytes(BITS, a.group_size);
  const __m256i mask = _mm256_set1_epi8(static_cast<char>(max_code(BITS)));
  const int8_t* xq = a.xq + r0 * a.k;
  prefetch_outputs<R>(a, r0);
  __m256 total[R][2];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) total[r][0] = total[r][1] = _mm256_setzero_ps();
  for (int64_t g = 0; g < groups; ++g) {
    const uint8_t* block = a.blocks + g * block_bytes;
    const int8_t* xg = xq + g * a.group_size;
    __m256i dots[R][2];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) dots[r][0] = dots[r][1] = _mm256_setzero_si256();
    for (int64_t v = 0; v < code_bytes / 64; ++v) {
#pragma GCC unroll 16
      for (int half = 0; half < 2; ++half) {
        const __m256i packed = _mm256_load_si256(reinterpret_cast<const __m256i*>(block + 64 * v + 32 * half));
        __m256i w[kQuadsPerVector];
        w[0] = _mm256_and_si256(packed, mask);
        if constexpr (BITS == 4) {
          w[1] = _mm256_and_si256(_mm256_srli_epi16(packed, 4), mask);
        } else {
          w[1] = _mm256_and_si256(_mm256_srli_epi16(packed, 2), mask);
          w[2] = _mm256_and_si256(_mm256_srli_epi16(packed, 4), mask);
          w[3] = _mm256_and_si256(_mm256_srli_epi16(packed, 6), mask);
        }
#pragma GCC unroll 16
        for (int s = 0; s < kQuadsPerVector; ++s) {
          const int8_t* xk = xg + (v * kQuadsPerVector + s) * 4;
#pragma GCC unroll 16
          for (int r = 0; r < R; ++r)
            dots[r][half] = _mm256_add_epi32(dots[r][half], dot_quads(w[s], _mm256_set1_epi32(load_quad(xk + r * a.k))));
        }
      }
    }
#pragma GCC unroll 16
    for (int half = 0; half < 2; ++half) {
      const uint8_t* params = block + code_bytes + 16 * half;
      const __m256 scales = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(params)));
      const __m256 minimums = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(params + 32)));
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        total[r][half] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dots[r][half]), scales, total[r][half]);
        const float sum = static_cast<float>(a.group_sums[(r0 + r) * groups + g]);
        total[r][half] = _mm256_fmadd_ps(minimums, _mm256_set1_ps(sum), total[r][half]);
      }
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    alignas(32) float lanes[kTileColumns];
    const __m256 scale = _mm256_set1_ps(a.row_scales[r0 + r]);
    _mm256_store_ps(lanes, _mm256_mul_ps(total[r][0], scale));
    _mm256_store_ps(lanes + 8, _mm256_mul_ps(total[r][1], scale));
    float* y = a.y + (r0 + r) * a.ldy;
    for (int64_t c = 0; c < a.cols; ++c) {
      const float v = lanes[c] + (a.bias ? a.bias[c] : 0.0f);
      y[c] = a.accumulate ? y[c] + v : v;
    }
  }
}

#else
constexpr int kMaxRows = 4;

template <int R, int BITS>
void tile_rows(const TileArgs& a, int64_t r0) {
  constexpr int kQuadsPerVector = 8 / BITS;
  const int64_t groups = a.k / a.group_size, block_bytes = group_block_bytes(BITS, a.group_size);
  const int64_t code_bytes = group_code_bytes(BITS, a.group_size);
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    const int8_t* xq = a.xq + (r0 + r) * a.k;
    float* y = a.y + (r0 + r) * a.ldy;
    for (int64_t c = 0; c < a.cols; ++c) {
      float total = 0.0f;
      for (int64_t g = 0; g < groups; ++g) {
        const uint8_t* block = a.blocks + g * block_bytes;
        int32_t dot = 0;
        for (int64_t i = 0; i < a.group_size; ++i) {
          const int64_t quad = i / 4, vector = quad / kQuadsPerVector, shift = (quad % kQuadsPerVector) * BITS;
          const int code = (block[64 * vector + 4 * c + i % 4] >> shift) & max_code(BITS);
          dot += code * xq[g * a.group_size + i];
        }
        uint16_t scale, minimum;
        std::memcpy(&scale, block + code_bytes + 2 * c, 2);
        std::memcpy(&minimum, block + code_bytes + 32 + 2 * c, 2);
        total += static_cast<float>(dot) * half_to_float(scale) +
                 half_to_float(minimum) * static_cast<float>(a.group_sums[(r0 + r) * groups + g]);
      }
      const float v = total * a.row_scales[r0 + r] + (a.bias ? a.bias[c] : 0.0f);
      y[c] = a.accumulate ? y[c] + v : v;
    }
  }
}
#endif

#if defined(__AVX512VNNI__)
template <int BITS, int C>
void tile_all_rows(const TileArgs& a) {
  int64_t r0 = 0;
  for (; r0 + kMaxRows <= a.rows; r0 += kMaxRows) tile_rows<kMaxRows, BITS, C>(a, r0);
  switch (a.rows - r0) {
    case 1: tile_rows<1, BITS, C>(a, r0); break;
    case 2: tile_rows<2, BITS, C>(a, r0); break;
    case 3: tile_rows<3, BITS, C>(a, r0); break;
    case 4: tile_rows<4, BITS, C>(a, r0); break;
    case 5: tile_rows<5, BITS, C>(a, r0); break;
    default: break;
  }
}

void tile(const TileArgs& a) {
  const bool both = a.cols > kTileColumns;
  if (a.bits == 4)
    both ? tile_all_rows<4, 2>(a) : tile_all_rows<4, 1>(a);
  else
    both ? tile_all_rows<2, 2>(a) : tile_all_rows<2, 1>(a);
}
#else
template <int BITS>
void tile_all_rows(const TileArgs& a) {
  int64_t r0 = 0;
  for (; r0 + kMaxRows <= a.rows; r0 += kMaxRows) tile_rows<kMaxRows, BITS>(a, r0);
  switch (a.rows - r0) {
    case 1: tile_rows<1, BITS>(a, r0); break;
    case 2: tile_rows<2, BITS>(a, r0); break;
    case 3: tile_rows<3, BITS>(a, r0); break;
    default: break;
  }
}

// The item's tiles one at a time.
void tile(const TileArgs& a) {
  for (int64_t t = 0; t * kTileColumns < a.cols; ++t) {
    TileArgs one = a;
    one.y += t * kTileColumns;
    one.blocks += t * a.tile_bytes;
    if (one.bias) one.bias += t * kTileColumns;
    one.cols = std::min<int64_t>(kTileColumns, a.cols - t * kTileColumns);
    if (a.bits == 4)
      tile_all_rows<4>(one);
    else
      tile_all_rows<2>(one);
  }
}
#endif

}  // namespace

extern const LowBitKernels kLowBitKernels = {quantize_rows, tile};

}  // namespace squish::lowbit::SQUISH_ISA_NS
