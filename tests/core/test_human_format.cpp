// format_count, format_bytes, format_rate and format_duration at the boundaries where their form changes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "core/human_format.h"

namespace squish {
namespace {

TEST(FormatCount, ThousandsSeparators) {
  EXPECT_EQ(format_count(0), "0");
  EXPECT_EQ(format_count(999), "999");
  EXPECT_EQ(format_count(1000), "1,000");
  EXPECT_EQ(format_count(25000), "25,000");
  EXPECT_EQ(format_count(1234567), "1,234,567");
  EXPECT_EQ(format_count(-4200), "-4,200");
  EXPECT_EQ(format_count(std::numeric_limits<int64_t>::min()), "-9,223,372,036,854,775,808");
  EXPECT_EQ(format_count(std::numeric_limits<int64_t>::max()), "9,223,372,036,854,775,807");
}

TEST(FormatBytes, DecimalMegabytes) {
  EXPECT_EQ(format_bytes(45439980), "45.44 MB");
  EXPECT_EQ(format_bytes(0), "0.00 MB");
}

TEST(FormatRate, PrecisionFollowsSize) {
  EXPECT_EQ(format_rate(943.4), "943");
  EXPECT_EQ(format_rate(1234.5), "1,235");
  EXPECT_EQ(format_rate(99.96), "100");  // not "100.0"
  EXPECT_EQ(format_rate(94.34), "94.3");
  EXPECT_EQ(format_rate(9.996), "10.0");  // not "10.00"
  EXPECT_EQ(format_rate(0.523), "0.52");
  EXPECT_EQ(format_rate(0), "0.00");
  EXPECT_EQ(format_rate(2.5e20), "2.5e+20");
}

TEST(FormatRate, UnknownRates) {
  EXPECT_EQ(format_rate(-1), "?");
  EXPECT_EQ(format_rate(std::nan("")), "?");
  EXPECT_EQ(format_rate(std::numeric_limits<double>::infinity()), "?");
}

TEST(FormatDuration, MinutesThenHours) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(7.9), "0:07");
  EXPECT_EQ(format_duration(59.99), "0:59");
  EXPECT_EQ(format_duration(60), "1:00");
  EXPECT_EQ(format_duration(3599), "59:59");
  EXPECT_EQ(format_duration(3600), "1:00:00");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(100 * 3600 + 5), "100:00:05");
  EXPECT_EQ(format_duration(-1), "?:??");
  EXPECT_EQ(format_duration(std::numeric_limits<double>::infinity()), "?:??");
}

}  // namespace
}  // namespace squish
