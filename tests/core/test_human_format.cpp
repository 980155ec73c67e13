// Numbers for people, against hand-written strings.
#include <gtest/gtest.h>

#include "core/human_format.h"

namespace squish {
namespace {

TEST(HumanFormat, CountsGetThousandsSeparators) {
  EXPECT_EQ(format_count(0), "0");
  EXPECT_EQ(format_count(999), "999");
  EXPECT_EQ(format_count(1000), "1,000");
  EXPECT_EQ(format_count(22713216), "22,713,216");
  EXPECT_EQ(format_count(-1234567), "-1,234,567");
}

TEST(HumanFormat, BytesInDecimalMegabytes) {
  EXPECT_EQ(format_bytes(45439980), "45.44 MB");
  EXPECT_EQ(format_bytes(0), "0.00 MB");
}

}  // namespace
}  // namespace squish
