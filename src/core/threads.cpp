#include "core/threads.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <thread>

namespace squish {
namespace {

// How long a waiting thread spins before it sleeps: a trade measured on the 2-core EPYC of
// NOTES-h8.md. Sleeping sooner costs idle speed (waking a sleeping thread costs more than the gaps
// between parallel regions: at 15 us the MiniLM eval lost 7%, at 18 us 4%, from 20 us ~1%); spinning
// longer takes CPU from a neighbour's threads and our own (beside a second squish the tiny model's
// eval, whose regions are microseconds apart, took 2.1x its idle time at 15 us, 2.3x at 18 us,
// 2.5x at 20 us, 2.7x at 22 us; libgomp's default of ~3-7 ms, 4-120x).
constexpr double kSpinMicroseconds = 18;
// Bounds on the count, should the timing below be absurd (a preempted probe, a coarse clock).
constexpr long kMinSpins = 100;
constexpr long kMaxSpins = 100000;

// Every variable through which a user can choose how libgomp waits.
constexpr const char* kWaitPolicyVariables[] = {"OMP_WAIT_POLICY", "OMP_WAIT_POLICY_ALL", "GOMP_SPINCOUNT"};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();  // what libgomp's x86 spin loop executes
#else
  asm volatile("" ::: "memory");
#endif
}

// libgomp counts spins, not time, and one spin (a relaxed load and a pause, as timed here) costs
// ~22 ns on that EPYC, ~40 ns on recent Intel cores and a few ns on older ones: the same count would
// be a different policy on each. Timing the same loop turns the chosen time into this CPU's count.
long spins_for(double microseconds) {
  constexpr int kProbeSpins = 2000;
  std::atomic<int> never_set{0};
  double best_ns = std::numeric_limits<double>::infinity();
  for (int trial = 0; trial < 3; ++trial) {  // the fastest trial is the one nothing preempted
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kProbeSpins && never_set.load(std::memory_order_relaxed) == 0; ++i) cpu_relax();
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    best_ns = std::min(best_ns, ns / kProbeSpins);
  }
  if (!(best_ns > 0)) return kMaxSpins;
  return std::clamp(std::lround(microseconds * 1000 / best_ns), kMinSpins, kMaxSpins);
}

}  // namespace

int hardware_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

int set_num_threads(int n) {
  if (n <= 0) n = hardware_threads();
  omp_set_num_threads(n);
  return n;
}

int num_threads() { return omp_get_max_threads(); }

void configure_threading(char** argv) {
  static bool configured = false;
  if (configured) return;
  configured = true;
  for (const char* name : kWaitPolicyVariables)
    if (std::getenv(name) != nullptr) return;
  ::setenv("GOMP_SPINCOUNT", std::to_string(spins_for(kSpinMicroseconds)).c_str(), 1);
  ::execv("/proc/self/exe", argv);
  // Still here: no /proc, or the binary is gone. This process's libgomp never saw the variable, so
  // removing it keeps thread_wait_policy() and child processes truthful.
  ::unsetenv("GOMP_SPINCOUNT");
}

std::string thread_wait_policy() {
  std::string policy;
  for (const char* name : kWaitPolicyVariables)
    if (const char* value = std::getenv(name)) {
      if (!policy.empty()) policy += ' ';
      policy.append(name).append("=").append(value);
    }
  return policy.empty() ? "libgomp default" : policy;
}

}  // namespace squish
