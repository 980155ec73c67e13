// 12 independent AVX2 FMA chains (fp32), as in ../shared/tools/peak.cpp but
// with starting values far enough apart to be distinct floats (1 + i*1e-7 rounds some chains to
// equal values, and GCC then merges them: 10 FMAs per iteration counted as 12). This TU alone is
// compiled with -mavx2 -mfma (bench/CMakeLists.txt); call it only on a CPU with AVX2 and FMA.
#include <immintrin.h>

namespace squish::bench {

#define SQUISH_CHAINS(OP) OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7) OP(8) OP(9) OP(10) OP(11)

__attribute__((noinline)) float fma_chains_avx2(long n) {
#define DECL(i) __m256 a##i = _mm256_set1_ps(1.0f + i * 0.01f);
#define STEP(i) a##i = _mm256_fmadd_ps(a##i, b, c);
#define SUM(i) s += _mm256_cvtss_f32(a##i);
  SQUISH_CHAINS(DECL)
  const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (long k = 0; k < n; ++k) { SQUISH_CHAINS(STEP) }
  float s = 0;
  SQUISH_CHAINS(SUM)
  return s;
#undef DECL
#undef STEP
#undef SUM
}

}  // namespace squish::bench
