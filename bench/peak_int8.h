// The machine's int8 peak for u8×s8 dot products (AVX-512 VNNI vpdpbusd: 64 multiply-adds per
// instruction, counted as 128 ops), measured like the fp32 peak (12 independent register chains per
// thread, best of several runs), so the int8 GEMM benchmarks can report a fraction of it.
#pragma once

#include <string>

namespace squish::bench {

struct PeakInt8 {
  double gops = 0;     // all `threads` together
  int threads = 0;
  std::string source;  // "avx512-vnni", "env SQUISH_PEAK_GOPS", or "none" (no VNNI)
};

// SQUISH_PEAK_GOPS (if set and positive) wins; otherwise measured (~1 s).
PeakInt8 int8_peak(int threads);

}  // namespace squish::bench
