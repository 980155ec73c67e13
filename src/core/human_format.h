// Numbers, sizes and durations as a person reads them: "25,000", "45.44 MB", "943/s", "1:02:03".
#pragma once

#include <cstdint>
#include <string>

namespace squish {

// Thousands separated by commas: 1234567 -> "1,234,567", -4200 -> "-4,200".
std::string format_count(int64_t n);

// Decimal megabytes, as file managers show sizes: 45439980 -> "45.44 MB".
std::string format_bytes(int64_t n);

// Per-second rate with the precision its size deserves: 1234.5 -> "1,234", 94.34 -> "94.3",
// 0.523 -> "0.52"; negative, NaN or infinite rates -> "?" (nothing measured yet).
std::string format_rate(double per_second);

// Whole seconds as "M:SS" under an hour and "H:MM:SS" from one hour: 7.9 -> "0:07",
// 3723 -> "1:02:03"; negative, NaN or infinite -> "?:??".
std::string format_duration(double seconds);

}  // namespace squish
