// ggml's tensor element types (the numbers GGUF files store) with their block layouts, and their conversion
// to fp32. A quantized type packs a fixed number of elements into a fixed number of bytes (a block: fp16
// scales, then packed integer codes); rows are whole blocks. Dequantization is bit-exact with ggml's
// reference (`dequantize_row_*` in ggml-quants.c, as the PyPI `gguf` package's `gguf.quants.dequantize`
// computes it): every product and sum is one fp32 operation in ggml's order, so the library must not be
// compiled with floating-point contraction into FMAs (squish builds without -march and in ISO mode).
#pragma once

#include <cstdint>
#include <string_view>

namespace squish {

// ggml's numbering (ggml.h `enum ggml_type`); the gaps are types ggml has retired.
enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kMXFP4 = 39,
  kNVFP4 = 40,
  kQ1_0 = 41,
};

struct GgmlTypeTraits {
  GgmlType type;
  std::string_view name;   // ggml's spelling: "Q4_1", "F32"
  int64_t block_elements;  // 1 for plain types
  int64_t block_bytes;
  bool dequantizable;  // dequantize_ggml converts it
};

// The traits of ggml type number `type`, or null when ggml defines no such type.
const GgmlTypeTraits* find_ggml_type(uint32_t type);
// The traits of a named type; "?" and zero sizes for a value outside the enum.
const GgmlTypeTraits& ggml_type_traits(GgmlType type);
std::string_view ggml_type_name(GgmlType type);
// "F32, F16, BF16, Q8_0, ...": for messages refusing a type.
std::string_view dequantizable_ggml_types();

// Converts `count` elements stored as `type` at `src` (little-endian, any alignment) into fp32 at `dst`.
// `count` must be a whole number of blocks and `src` hold count / block_elements blocks. Throws
// FormatError for a count that is not whole blocks and for a type without dequantization (the caller
// adds the file and tensor: see dequantize_gguf_tensor in io/gguf.h).
void dequantize_ggml(GgmlType type, const void* src, float* dst, int64_t count);

}  // namespace squish
