// How much memory this process holds, for benchmarks that report what a model really costs.
#pragma once

#include <cstdint>

namespace squish {

// The most resident memory the process has held so far (getrusage's ru_maxrss), in bytes.
int64_t peak_resident_bytes();

}  // namespace squish
