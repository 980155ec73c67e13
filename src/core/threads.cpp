#include "core/threads.h"

#include <omp.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <thread>

#include "core/communicator.h"

namespace squish {
namespace {

// How long a waiting thread spins before it sleeps: a trade measured with bench/busy_machine.sh on
// a 2-core AMD EPYC (Zen 4) VM. Sleeping sooner costs idle speed, because waking a thread costs more
// than the gaps between parallel regions (the MiniLM eval lost 7% at 15 us, 4% at 18 us, ~1% from
// 20 us). Spinning longer takes CPU from a neighbour's threads and from our own: beside a second
// squish, the tiny model's eval, whose regions are microseconds apart, took 2.1x its idle time at
// 15 us, 2.3x at 18 us, 2.5x at 20 us, 2.7x at 22 us, and up to 225x with libgomp's ~7 ms.
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

// libgomp counts spins, not time, and one spin (a relaxed load and a pause, timed here the same way)
// takes ~22 ns on that EPYC, while a pause alone is ~140 cycles on Intel cores since Skylake and ~10
// before: one count would be a different policy on each. Timing the loop turns the time into a count.
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

int default_threads() {
  int available = hardware_threads();
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) available = std::min(available, CPU_COUNT(&set));
  // A launcher that bound this rank gave it its own CPUs; unbound ranks share the machine's.
  const int shared_by = available < hardware_threads() ? 1 : world().local_size();
  return std::max(1, available / shared_by);
}

int set_num_threads(int n) {
  if (n <= 0) n = default_threads();
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
