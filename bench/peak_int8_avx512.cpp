// 12 independent AVX-512 VNNI chains (vpdpbusd: u8 × s8 into int32), as ../shared/tools/peak.cpp
// measures the int8 peak. This TU alone is compiled with -mavx512f -mavx512vnni (bench/CMakeLists.txt);
// call it only on a CPU with AVX-512 VNNI.
#include <immintrin.h>

namespace squish::bench {

#define SQUISH_CHAINS(OP) OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7) OP(8) OP(9) OP(10) OP(11)

__attribute__((noinline)) float vnni_chains_avx512(long n) {
#define DECL(i) __m512i a##i = _mm512_set1_epi32(i);
#define STEP(i) a##i = _mm512_dpbusd_epi32(a##i, b, c);
#define SUM(i) _mm512_store_si512(lanes, a##i); s += static_cast<float>(lanes[0]);
  SQUISH_CHAINS(DECL)
  const __m512i b = _mm512_set1_epi8(1), c = _mm512_set1_epi8(-1);
  for (long k = 0; k < n; ++k) { SQUISH_CHAINS(STEP) }
  alignas(64) int lanes[16];
  float s = 0;
  SQUISH_CHAINS(SUM)
  return s;
#undef DECL
#undef STEP
#undef SUM
}

}  // namespace squish::bench
