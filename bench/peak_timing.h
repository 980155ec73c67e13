// Timing shared by the peak measurements (peak_fp32.cpp, peak_int8.cpp): the best of several runs
// of a register-chain loop on a given number of threads.
#pragma once

#include <omp.h>

#include <chrono>
#include <cstdlib>

namespace squish::bench {

inline volatile float g_peak_sink;

// Best of `reps` runs of f(iters) on `threads` threads; ops_per_iter per thread per iteration.
template <class F>
double best_rate(F f, double ops_per_iter, long iters, int threads, int reps) {
  auto now = [] { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); };
  double best = 0;
  for (int rep = 0; rep < reps; ++rep) {
    const double t0 = now();
#pragma omp parallel num_threads(threads)
    g_peak_sink = f(iters);
    const double r = ops_per_iter * static_cast<double>(iters) * threads / (now() - t0);
    if (r > best) best = r;
  }
  return best;
}

// The larger of the `threads`-thread rate and `threads` x the 1-thread rate: cores are alike, and a
// core busy with another process pulls the all-thread run down while one thread still finds a free core.
template <class F>
double peak_rate(F f, double ops_per_iter, long iters, int threads) {
  const double all = best_rate(f, ops_per_iter, iters, threads, 5);
  const double one = threads > 1 ? best_rate(f, ops_per_iter, iters, 1, 5) * threads : 0.0;
  return all > one ? all : one;
}

// A peak the user states instead of measuring (SQUISH_PEAK_GFLOPS, SQUISH_PEAK_GOPS): its value when
// set and positive, else 0.
inline double stated_peak(const char* variable) {
  const char* env = std::getenv(variable);
  const double v = env ? std::atof(env) : 0.0;
  return v > 0 ? v : 0.0;
}

}  // namespace squish::bench
