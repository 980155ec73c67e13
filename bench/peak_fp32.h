// The machine's fp32 FMA peak, measured the way ../shared/tools/peak.cpp does (12 independent
// register chains per thread, best of several runs), so kernel benchmarks can report a fraction
// of it. AVX-512 if the CPU has it, else AVX2 (FMA); the chains live in peak_fp32_avx512.cpp and
// peak_fp32_avx2.cpp, the only TUs compiled with those -m flags.
#pragma once

#include <string>

namespace squish::bench {

struct PeakFp32 {
  double gflops = 0;    // all `threads` together
  int threads = 0;
  std::string source;   // "avx512-fma", "avx2-fma", "env SQUISH_PEAK_GFLOPS", or "none"
};

// SQUISH_PEAK_GFLOPS (if set and positive) wins; otherwise measured (~1 s): the larger of the
// `threads`-thread rate and `threads` x the 1-thread rate, so a core busy with something else
// does not make the peak look low. gflops = 0 when the CPU has neither AVX-512F nor AVX2+FMA.
PeakFp32 fp32_peak(int threads);

}  // namespace squish::bench
