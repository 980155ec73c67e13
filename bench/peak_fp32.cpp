#include "peak_fp32.h"

#include <omp.h>

#include <chrono>
#include <cstdlib>

namespace squish::bench {

float fma_chains_avx512(long n);  // peak_fp32_avx512.cpp
float fma_chains_avx2(long n);    // peak_fp32_avx2.cpp

namespace {

volatile float g_sink;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Best of `reps` runs of f(iters) on `threads` threads; flop_per_iter per thread per iteration.
template <class F>
double best_rate(F f, double flop_per_iter, long iters, int threads, int reps) {
  double best = 0;
  for (int rep = 0; rep < reps; ++rep) {
    const double t0 = now_s();
#pragma omp parallel num_threads(threads)
    g_sink = f(iters);
    const double r = flop_per_iter * static_cast<double>(iters) * threads / (now_s() - t0);
    if (r > best) best = r;
  }
  return best;
}

}  // namespace

PeakFp32 fp32_peak(int threads) {
  PeakFp32 p;
  p.threads = threads;
  if (const char* env = std::getenv("SQUISH_PEAK_GFLOPS")) {
    const double v = std::atof(env);
    if (v > 0) {
      p.gflops = v;
      p.source = "env SQUISH_PEAK_GFLOPS";
      return p;
    }
  }
  __builtin_cpu_init();
  const long iters = 20'000'000;
  // The larger of the `threads`-thread rate and `threads` x the 1-thread rate: cores are alike,
  // and a core busy with another process pulls the all-thread run down while one thread still
  // finds a free core.
  auto measure = [&](auto chains, double flop_per_iter) {
    const double all = best_rate(chains, flop_per_iter, iters, threads, 5);
    const double one = threads > 1 ? best_rate(chains, flop_per_iter, iters, 1, 5) * threads : 0.0;
    return (all > one ? all : one) / 1e9;
  };
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
