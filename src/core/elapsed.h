// Wall-clock time for the timings every run report carries.
#pragma once

#include <chrono>

namespace squish {

using Clock = std::chrono::steady_clock;

// Seconds from `start` to now.
inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace squish
