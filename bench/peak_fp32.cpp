#include "peak_fp32.h"

#include "peak_timing.h"

namespace squish::bench {

float fma_chains_avx512(long n);  // peak_fp32_avx512.cpp
float fma_chains_avx2(long n);    // peak_fp32_avx2.cpp

PeakFp32 fp32_peak(int threads) {
  PeakFp32 p;
  p.threads = threads;
  if ((p.gflops = stated_peak("SQUISH_PEAK_GFLOPS")) > 0) {
    p.source = "env SQUISH_PEAK_GFLOPS";
    return p;
  }
  __builtin_cpu_init();
  const long iters = 20'000'000;
  auto measure = [&](auto chains, double flop_per_iter) { return peak_rate(chains, flop_per_iter, iters, threads) / 1e9; };
  if (__builtin_cpu_supports("avx512f")) {
    p.gflops = measure(fma_chains_avx512, 12.0 * 16 * 2);
    p.source = "avx512-fma";
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    p.gflops = measure(fma_chains_avx2, 12.0 * 8 * 2);
    p.source = "avx2-fma";
  } else {
    p.source = "none";
  }
  return p;
}

}  // namespace squish::bench

#ifdef SQUISH_PEAK_MAIN
// Standalone use by e2e_bert_base.py (a peak with 12 chains that really are 12, and on CPUs
// where ../shared/tools/peak.cpp does not build): one line per thread count, 1 and 2 and argv[1]
// if given, in peak.cpp's wording.
#include <cstdio>
#include <cstdlib>
#include <vector>
int main(int argc, char** argv) {
  std::vector<int> counts = {1, 2};
  if (argc > 1 && std::atoi(argv[1]) > 2) counts.push_back(std::atoi(argv[1]));
  for (int th : counts) {
    const squish::bench::PeakFp32 p = squish::bench::fp32_peak(th);
    const char* what = p.source == "avx512-fma" ? "AVX-512" : p.source == "avx2-fma" ? "AVX2" : p.source.c_str();
    std::printf("threads=%d  fp32 %s FMA %.1f GFLOP/s\n", th, what, p.gflops);
  }
}
#endif
