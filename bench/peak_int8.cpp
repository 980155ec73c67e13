#include "peak_int8.h"

#include "peak_timing.h"

namespace squish::bench {

float vnni_chains_avx512(long n);  // peak_int8_avx512.cpp

PeakInt8 int8_peak(int threads) {
  PeakInt8 p;
  p.threads = threads;
  if ((p.gops = stated_peak("SQUISH_PEAK_GOPS")) > 0) {
    p.source = "env SQUISH_PEAK_GOPS";
    return p;
  }
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512vnni")) {
    p.gops = peak_rate(vnni_chains_avx512, 12.0 * 64 * 2, 20'000'000, threads) / 1e9;
    p.source = "avx512-vnni";
  } else {
    p.source = "none";
  }
  return p;
}

}  // namespace squish::bench
