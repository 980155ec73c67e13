// Numbers for people: counts with thousands separators, byte sizes in MB.
#pragma once

#include <cstdint>
#include <string>

namespace squish {

std::string format_count(int64_t n);   // 22713216 -> "22,713,216"
std::string format_bytes(int64_t n);   // 45439980 -> "45.44 MB" (decimal megabytes, as file managers show)

}  // namespace squish
