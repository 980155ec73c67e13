// squish's version, declared once in CMakeLists.txt's project() and passed to the compiler.
#pragma once

#include <string_view>

namespace squish {

inline constexpr std::string_view kVersion = SQUISH_VERSION;

}  // namespace squish
