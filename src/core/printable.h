// Bytes from untrusted files (tensor names, record names) made safe to print in one error line.
#pragma once

#include <string>
#include <string_view>

namespace squish {

// Control bytes become \xNN escapes and anything past 120 bytes is cut with its length noted.
std::string printable(std::string_view s);

}  // namespace squish
