// Element types squish reads from checkpoints and computes with, and exact conversions to fp32.
// F16 and BF16 widen to F32 without rounding (every half/bfloat value is representable in fp32).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace squish {

// kU16 holds integers only (the sparse format's column indices), never read as real numbers.
enum class DType : uint8_t { kF32, kF16, kBF16, kF64, kI64, kI32, kI8, kU8, kBool, kU16 };

size_t dtype_size(DType t);
std::string_view dtype_name(DType t);  // safetensors spelling: "F32", "F16", "BF16", ...

float half_to_float(uint16_t h);
float bfloat16_to_float(uint16_t b);
// Rounds to the nearest half, ties to even (IEEE 754, as torch's .half()); overflow gives infinity.
uint16_t float_to_half(float f);

// Converts n elements of `src` (of type `t`, little-endian, any alignment) into fp32.
// Throws FormatError for types that do not hold real numbers.
void convert_to_f32(float* dst, const void* src, DType t, size_t n);

}  // namespace squish
