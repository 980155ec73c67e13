#include "core/human_format.h"

#include <cmath>
#include <cstdio>

namespace squish {

std::string format_count(int64_t n) {
  // Through the unsigned magnitude, so INT64_MIN has no positive twin to overflow into.
  const uint64_t magnitude = n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  std::string digits = std::to_string(magnitude);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string format_bytes(int64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f MB", static_cast<double>(n) / 1e6);
  return buf;
}

std::string format_rate(double per_second) {
  if (!std::isfinite(per_second) || per_second < 0) return "?";
  char buf[32];
  // Beyond 1e15/s no count is real, and llround would overflow near 9.2e18.
  if (per_second >= 1e15) std::snprintf(buf, sizeof buf, "%.3g", per_second);
  else if (per_second >= 99.95) return format_count(std::llround(per_second));
  else std::snprintf(buf, sizeof buf, per_second >= 9.995 ? "%.1f" : "%.2f", per_second);
  return buf;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e12) return "?:??";
  const auto total = static_cast<int64_t>(seconds);
  const int64_t h = total / 3600, m = total / 60 % 60, s = total % 60;
  char buf[48];
  if (h > 0)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(h), static_cast<long long>(m),
                  static_cast<long long>(s));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(m), static_cast<long long>(s));
  return buf;
}

}  // namespace squish
