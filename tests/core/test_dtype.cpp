// half_to_float and bfloat16_to_float on named values (zeros, subnormals, the largest finite values,
// infinities, NaNs) and on all 65,536 bit patterns of each against an independent formula;
// convert_to_f32 from unaligned bytes and its refusal of integer types.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "core/dtype.h"
#include "core/error.h"

namespace squish {
namespace {

uint32_t bits_of(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// IEEE binary16 / bfloat16 decoded from their definition: sign, biased exponent, fraction.
double decode(uint16_t v, int exponent_bits, int fraction_bits) {
  const int bias = (1 << (exponent_bits - 1)) - 1;
  const bool negative = v >> 15;
  const int exponent = (v >> fraction_bits) & ((1 << exponent_bits) - 1);
  const int fraction = v & ((1 << fraction_bits) - 1);
  double magnitude;
  if (exponent == (1 << exponent_bits) - 1)
    magnitude = fraction == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  else if (exponent == 0)
    magnitude = std::ldexp(fraction, 1 - bias - fraction_bits);  // subnormal: no implicit leading 1
  else
    magnitude = std::ldexp(fraction + (1 << fraction_bits), exponent - bias - fraction_bits);
  return negative ? -magnitude : magnitude;
}

TEST(HalfToFloat, NamedValues) {
  EXPECT_EQ(bits_of(half_to_float(0x0000)), 0x00000000u);  // +0
  EXPECT_EQ(bits_of(half_to_float(0x8000)), 0x80000000u);  // -0 keeps its sign
  EXPECT_EQ(half_to_float(0x3c00), 1.0f);
  EXPECT_EQ(half_to_float(0xc000), -2.0f);
  EXPECT_EQ(half_to_float(0x3555), 0.333251953125f);
  EXPECT_EQ(half_to_float(0x7bff), 65504.0f);   // largest finite
  EXPECT_EQ(half_to_float(0x0400), 0x1p-14f);   // smallest normal
  EXPECT_EQ(half_to_float(0x03ff), 1023 * 0x1p-24f);  // largest subnormal
  EXPECT_EQ(half_to_float(0x0200), 0x1p-15f);
  EXPECT_EQ(half_to_float(0x0001), 0x1p-24f);   // smallest subnormal
  EXPECT_EQ(half_to_float(0x8001), -0x1p-24f);
  EXPECT_EQ(half_to_float(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(half_to_float(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(half_to_float(0x7e00)));  // quiet NaN
  EXPECT_TRUE(std::isnan(half_to_float(0x7c01)));  // signalling NaN: must not turn into infinity
  EXPECT_TRUE(std::isnan(half_to_float(0xffff)));
  EXPECT_TRUE(std::signbit(half_to_float(0xfe00)));
}

TEST(HalfToFloat, EveryBitPatternMatchesTheDefinition) {
  for (uint32_t v = 0; v <= 0xffff; ++v) {
    const auto h = static_cast<uint16_t>(v);
    const double want = decode(h, 5, 10);
    const float got = half_to_float(h);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << std::hex << v;
      // The payload survives widening, so distinct NaNs stay distinct.
      EXPECT_EQ((bits_of(got) >> 13) & 0x3ffu, v & 0x3ffu) << std::hex << v;
    } else {
      EXPECT_EQ(static_cast<double>(got), want) << std::hex << v;
      EXPECT_EQ(std::signbit(got), (v & 0x8000) != 0) << std::hex << v;
    }
  }
}

// The writer's rounding (squish export --dtype f16): every half survives the round trip, ties go to
// even, values past the largest half become infinity, as torch's .half() does.
TEST(FloatToHalf, RoundsToNearestEven) {
  for (uint32_t v = 0; v <= 0xffff; ++v) {
    const auto h = static_cast<uint16_t>(v);
    if (std::isnan(half_to_float(h))) continue;
    EXPECT_EQ(float_to_half(half_to_float(h)), h) << std::hex << v;
  }
  EXPECT_EQ(float_to_half(1.0f + 0x1p-11f), 0x3c00);           // halfway to the next half: down to even
  EXPECT_EQ(float_to_half(1.0f + 3 * 0x1p-11f), 0x3c02);       // halfway from an odd one: up to even
  EXPECT_EQ(float_to_half(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01);  // past halfway: up
  EXPECT_EQ(float_to_half(65520.0f), 0x7c00);                  // rounds past 65504: infinity
  EXPECT_EQ(float_to_half(0x1p-25f), 0x0000);                   // half the smallest subnormal: to even (zero)
  EXPECT_TRUE(std::isnan(half_to_float(float_to_half(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(Bfloat16ToFloat, NamedValues) {
  EXPECT_EQ(bfloat16_to_float(0x3f80), 1.0f);
  EXPECT_EQ(bfloat16_to_float(0x4049), 3.140625f);
  EXPECT_EQ(bits_of(bfloat16_to_float(0x8000)), 0x80000000u);
  EXPECT_EQ(bfloat16_to_float(0x0001), 0x1p-133f);  // smallest subnormal, itself a float subnormal
  EXPECT_EQ(bfloat16_to_float(0x007f), 127 * 0x1p-133f);
  EXPECT_EQ(bfloat16_to_float(0x0080), 0x1p-126f);  // smallest normal
  EXPECT_EQ(bfloat16_to_float(0x7f7f), 0x1.fep127f);  // largest finite
  EXPECT_EQ(bfloat16_to_float(0x7f80), std::numeric_limits<float>::infinity());
  EXPECT_EQ(bfloat16_to_float(0xff80), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(bfloat16_to_float(0x7fc0)));
  EXPECT_TRUE(std::isnan(bfloat16_to_float(0x7f81)));
}

TEST(Bfloat16ToFloat, EveryBitPatternMatchesTheDefinition) {
  for (uint32_t v = 0; v <= 0xffff; ++v) {
    const auto b = static_cast<uint16_t>(v);
    const double want = decode(b, 8, 7);
    const float got = bfloat16_to_float(b);
    if (std::isnan(want))
      EXPECT_TRUE(std::isnan(got)) << std::hex << v;
    else
      EXPECT_EQ(static_cast<double>(got), want) << std::hex << v;
    EXPECT_EQ(bits_of(got), v << 16) << std::hex << v;  // bfloat16 is the top half of a float
  }
}

TEST(ConvertToF32, ReadsUnalignedLittleEndianBytes) {
  // One byte of offset, so no element is aligned.
  unsigned char raw[1 + 16] = {0xee};
  const unsigned char half[] = {0x00, 0x3c, 0x01, 0x00, 0x00, 0xfc};  // 1, 2^-24, -inf
  std::memcpy(raw + 1, half, sizeof half);
  float f[3];
  convert_to_f32(f, raw + 1, DType::kF16, 3);
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(f[1], 0x1p-24f);
  EXPECT_EQ(f[2], -std::numeric_limits<float>::infinity());

  const double d[2] = {-0.1, 1e-40};  // 1e-40 lands in float's subnormal range
  std::memcpy(raw + 1, d, sizeof d);
  convert_to_f32(f, raw + 1, DType::kF64, 2);
  EXPECT_EQ(f[0], -0.1f);
  EXPECT_EQ(f[1], static_cast<float>(1e-40));
  EXPECT_GT(f[1], 0.0f);

  const float g[2] = {3.5f, -0.0f};
  std::memcpy(raw + 1, g, sizeof g);
  convert_to_f32(f, raw + 1, DType::kF32, 2);
  EXPECT_EQ(f[0], 3.5f);
  EXPECT_EQ(bits_of(f[1]), 0x80000000u);

  const unsigned char bf[] = {0x80, 0x3f, 0xc0, 0x7f};  // 1, NaN
  std::memcpy(raw + 1, bf, sizeof bf);
  convert_to_f32(f, raw + 1, DType::kBF16, 2);
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_TRUE(std::isnan(f[1]));
}

TEST(ConvertToF32, IntegerTypesAreRefusedByName) {
  const int32_t i[1] = {7};
  float f[1];
  for (DType t : {DType::kI32, DType::kI64, DType::kI8, DType::kU8, DType::kBool}) {
    try {
      convert_to_f32(f, i, t, 1);
      ADD_FAILURE() << dtype_name(t) << " was converted";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("dtype " + std::string(dtype_name(t))), std::string::npos) << e.what();
    }
  }
}

TEST(DtypeSize, BytesPerElement) {
  EXPECT_EQ(dtype_size(DType::kF32), 4u);
  EXPECT_EQ(dtype_size(DType::kF16), 2u);
  EXPECT_EQ(dtype_size(DType::kBF16), 2u);
  EXPECT_EQ(dtype_size(DType::kF64), 8u);
  EXPECT_EQ(dtype_size(DType::kI64), 8u);
  EXPECT_EQ(dtype_size(DType::kBool), 1u);
}

}  // namespace
}  // namespace squish
