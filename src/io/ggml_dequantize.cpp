#include "io/ggml_dequantize.h"

#include <cstring>
#include <string>

#include "core/dtype.h"
#include "core/error.h"

namespace squish {
namespace {

constexpr int64_t kQK = 32;    // elements of a block of the first quantized types (Q4_0 ... Q8_0)
constexpr int64_t kQKK = 256;  // elements of a k-quant super-block

// Sizes from ggml's block structs (ggml-common.h); a file's byte counts are checked against these.
constexpr GgmlTypeTraits kTypes[] = {
    {GgmlType::kF32, "F32", 1, 4, true},
    {GgmlType::kF16, "F16", 1, 2, true},
    {GgmlType::kQ4_0, "Q4_0", kQK, 2 + kQK / 2, true},
    {GgmlType::kQ4_1, "Q4_1", kQK, 2 + 2 + kQK / 2, true},
    {GgmlType::kQ5_0, "Q5_0", kQK, 2 + 4 + kQK / 2, true},
    {GgmlType::kQ5_1, "Q5_1", kQK, 2 + 2 + 4 + kQK / 2, true},
    {GgmlType::kQ8_0, "Q8_0", kQK, 2 + kQK, true},
    {GgmlType::kQ8_1, "Q8_1", kQK, 4 + 4 + kQK, false},
    {GgmlType::kQ2_K, "Q2_K", kQKK, 2 + 2 + kQKK / 16 + kQKK / 4, true},
    {GgmlType::kQ3_K, "Q3_K", kQKK, 2 + kQKK / 4 + kQKK / 8 + 12, true},
    {GgmlType::kQ4_K, "Q4_K", kQKK, 2 + 2 + 12 + kQKK / 2, true},
    {GgmlType::kQ5_K, "Q5_K", kQKK, 2 + 2 + 12 + kQKK / 8 + kQKK / 2, true},
    {GgmlType::kQ6_K, "Q6_K", kQKK, kQKK / 2 + kQKK / 4 + kQKK / 16 + 2, true},
    {GgmlType::kQ8_K, "Q8_K", kQKK, 4 + kQKK + kQKK / 8, false},
    {GgmlType::kIQ2_XXS, "IQ2_XXS", kQKK, 2 + kQKK / 4, false},
    {GgmlType::kIQ2_XS, "IQ2_XS", kQKK, 2 + kQKK / 4 + kQKK / 32, false},
    {GgmlType::kIQ3_XXS, "IQ3_XXS", kQKK, 2 + kQKK / 4 + kQKK / 8, false},
    {GgmlType::kIQ1_S, "IQ1_S", kQKK, 2 + kQKK / 8 + kQKK / 16, false},
    {GgmlType::kIQ4_NL, "IQ4_NL", kQK, 2 + kQK / 2, false},
    {GgmlType::kIQ3_S, "IQ3_S", kQKK, 2 + kQKK / 4 + kQKK / 8 + kQKK / 32 + 4, false},
    {GgmlType::kIQ2_S, "IQ2_S", kQKK, 2 + kQKK / 4 + kQKK / 16, false},
    {GgmlType::kIQ4_XS, "IQ4_XS", kQKK, 2 + 2 + kQKK / 2 + kQKK / 64, false},
    {GgmlType::kI8, "I8", 1, 1, false},
    {GgmlType::kI16, "I16", 1, 2, false},
    {GgmlType::kI32, "I32", 1, 4, false},
    {GgmlType::kI64, "I64", 1, 8, false},
    {GgmlType::kF64, "F64", 1, 8, false},
    {GgmlType::kIQ1_M, "IQ1_M", kQKK, kQKK / 8 + kQKK / 16 + kQKK / 32, false},
    {GgmlType::kBF16, "BF16", 1, 2, true},
    {GgmlType::kTQ1_0, "TQ1_0", kQKK, 2 + 4 * 13, false},
    {GgmlType::kTQ2_0, "TQ2_0", kQKK, 2 + kQKK / 4, false},
    {GgmlType::kMXFP4, "MXFP4", kQK, 1 + kQK / 2, false},
    {GgmlType::kNVFP4, "NVFP4", 64, 4 + 32, false},
    {GgmlType::kQ1_0, "Q1_0", 128, 2 + 16, false},
};

constexpr GgmlTypeTraits kNotAType{GgmlType{0xffffffffu}, "?", 0, 0, false};

float f16_at(const uint8_t* p) { return half_to_float(static_cast<uint16_t>(p[0] | p[1] << 8)); }

// Below, each block's values are computed exactly as ggml's reference does, one rounding per operation:
// a scale times a code (and minus a scaled minimum), never a fused or reassociated form.

void dequantize_q4_0(const uint8_t* b, float* y) {
  const float d = f16_at(b);
  const uint8_t* qs = b + 2;
  for (int l = 0; l < kQK / 2; ++l) {
    y[l] = static_cast<float>((qs[l] & 0xf) - 8) * d;
    y[l + kQK / 2] = static_cast<float>((qs[l] >> 4) - 8) * d;
  }
}

void dequantize_q4_1(const uint8_t* b, float* y) {
  const float d = f16_at(b), m = f16_at(b + 2);
  const uint8_t* qs = b + 4;
  for (int l = 0; l < kQK / 2; ++l) {
    y[l] = static_cast<float>(qs[l] & 0xf) * d + m;
    y[l + kQK / 2] = static_cast<float>(qs[l] >> 4) * d + m;
  }
}

uint32_t u32_at(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

// Q5_0 / Q5_1: the low four bits of element l (and l + 16) in qs as Q4's, the fifth bit in bit l (and
// l + 16) of the 32-bit qh.
int q5_code(const uint8_t* qs, uint32_t qh, int l) {
  const int low = l < kQK / 2 ? qs[l] & 0xf : qs[l - kQK / 2] >> 4;
  return low | static_cast<int>((qh >> l) & 1u) << 4;
}

void dequantize_q5_0(const uint8_t* b, float* y) {
  const float d = f16_at(b);
  const uint32_t qh = u32_at(b + 2);
  for (int l = 0; l < kQK; ++l) y[l] = static_cast<float>(q5_code(b + 6, qh, l) - 16) * d;
}

void dequantize_q5_1(const uint8_t* b, float* y) {
  const float d = f16_at(b), m = f16_at(b + 2);
  const uint32_t qh = u32_at(b + 4);
  for (int l = 0; l < kQK; ++l) y[l] = static_cast<float>(q5_code(b + 8, qh, l)) * d + m;
}

void dequantize_q8_0(const uint8_t* b, float* y) {
  const float d = f16_at(b);
  for (int l = 0; l < kQK; ++l) y[l] = static_cast<float>(static_cast<int8_t>(b[2 + l])) * d;
}

// Q2_K: 16 scale bytes (low nibble a 16-element sub-block's scale, high nibble its minimum), 64 bytes of
// 2-bit codes, fp16 d, fp16 dmin. Element 128h + 32j + l is bits 2j of byte 32h + l.
void dequantize_q2_k(const uint8_t* b, float* y) {
  const uint8_t* scales = b;
  const uint8_t* qs = b + 16;
  const float d = f16_at(b + 80), dmin = f16_at(b + 82);
  for (int e = 0; e < kQKK; ++e) {
    const int h = e / 128, j = (e % 128) / 32, l = e % 32;
    const uint8_t sc = scales[e / 16];
    const float dl = d * static_cast<float>(sc & 0xf), ml = dmin * static_cast<float>(sc >> 4);
    y[e] = dl * static_cast<float>((qs[32 * h + l] >> (2 * j)) & 3) - ml;
  }
}

// Q3_K: a 32-byte high-bit mask, 64 bytes of 2-bit codes laid out as Q2_K's, 12 bytes of sixteen 6-bit
// scales (low nibbles in bytes 0-7, high pairs in bytes 8-11), fp16 d. A clear high bit subtracts 4.
void dequantize_q3_k(const uint8_t* b, float* y) {
  const uint8_t* hmask = b;
  const uint8_t* qs = b + 32;
  const uint8_t* packed = b + 96;
  const float d = f16_at(b + 108);
  float dl[16];
  for (int s = 0; s < 16; ++s) {
    const int low = s < 8 ? packed[s] & 0xf : packed[s - 8] >> 4;
    const int high = (packed[8 + s % 4] >> (2 * (s / 4))) & 3;
    dl[s] = d * static_cast<float>(static_cast<int8_t>(low | high << 4) - 32);
  }
  for (int e = 0; e < kQKK; ++e) {
    const int h = e / 128, j = (e % 128) / 32, l = e % 32;
    const int low = (qs[32 * h + l] >> (2 * j)) & 3;
    const int q = low - (((hmask[l] >> (e / 32)) & 1) ? 0 : 4);
    y[e] = dl[e / 16] * static_cast<float>(q);
  }
}

// Q4_K and Q5_K share twelve bytes of eight 6-bit scales and eight 6-bit minimums: sub-blocks 0-3 in the
// low six bits of bytes 0-3 (scales) and 4-7 (minimums), sub-blocks 4-7 in the nibbles of bytes 8-11
// with their top two bits in the top bits of bytes 0-7.
void k4_scale_min(const uint8_t* q, int j, int* scale, int* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = (q[j + 4] & 0xf) | (q[j - 4] >> 6) << 4;
    *min = (q[j + 4] >> 4) | (q[j] >> 6) << 4;
  }
}

// Q4_K: fp16 d, fp16 dmin, the scales, 128 bytes of 4-bit codes: sub-block 2c in the low nibbles of bytes
// 32c..32c+31, sub-block 2c+1 in their high nibbles.
void dequantize_q4_k(const uint8_t* b, float* y) {
  const float d = f16_at(b), dmin = f16_at(b + 2);
  const uint8_t* qs = b + 16;
  for (int s = 0; s < 8; ++s) {
    int sc, m;
    k4_scale_min(b + 4, s, &sc, &m);
    const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
    const uint8_t* q = qs + 32 * (s / 2);
    const int shift = 4 * (s % 2);
    for (int l = 0; l < 32; ++l) y[32 * s + l] = d1 * static_cast<float>((q[l] >> shift) & 0xf) - m1;
  }
}

// Q5_K: Q4_K's layout with 32 bytes of fifth bits before the codes (bit s of byte l for sub-block s).
void dequantize_q5_k(const uint8_t* b, float* y) {
  const float d = f16_at(b), dmin = f16_at(b + 2);
  const uint8_t* qh = b + 16;
  const uint8_t* qs = b + 48;
  for (int s = 0; s < 8; ++s) {
    int sc, m;
    k4_scale_min(b + 4, s, &sc, &m);
    const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
    const uint8_t* q = qs + 32 * (s / 2);
    const int shift = 4 * (s % 2);
    for (int l = 0; l < 32; ++l) {
      const int code = ((q[l] >> shift) & 0xf) | ((qh[l] >> s) & 1) << 4;
      y[32 * s + l] = d1 * static_cast<float>(code) - m1;
    }
  }
}

// Q6_K: 128 bytes of low nibbles, 64 bytes of high bit pairs, sixteen int8 scales, fp16 d. In half h,
// element 128h + 32j + l takes the low (j < 2) or high nibble of ql[64h + 32(j % 2) + l] and bits 2j of
// qh[32h + l]; codes are offset by 32.
void dequantize_q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const uint8_t* scales = b + 192;
  const float d = f16_at(b + 208);
  for (int e = 0; e < kQKK; ++e) {
    const int h = e / 128, j = (e % 128) / 32, l = e % 32;
    const int low = (ql[64 * h + 32 * (j % 2) + l] >> (4 * (j / 2))) & 0xf;
    const int high = (qh[32 * h + l] >> (2 * j)) & 3;
    const float dl = d * static_cast<float>(static_cast<int8_t>(scales[e / 16]));
    y[e] = dl * static_cast<float>((low | high << 4) - 32);
  }
}

using BlockFn = void (*)(const uint8_t*, float*);

BlockFn block_fn(GgmlType type) {
  switch (type) {
    case GgmlType::kQ4_0: return dequantize_q4_0;
    case GgmlType::kQ4_1: return dequantize_q4_1;
    case GgmlType::kQ5_0: return dequantize_q5_0;
    case GgmlType::kQ5_1: return dequantize_q5_1;
    case GgmlType::kQ8_0: return dequantize_q8_0;
    case GgmlType::kQ2_K: return dequantize_q2_k;
    case GgmlType::kQ3_K: return dequantize_q3_k;
    case GgmlType::kQ4_K: return dequantize_q4_k;
    case GgmlType::kQ5_K: return dequantize_q5_k;
    case GgmlType::kQ6_K: return dequantize_q6_k;
    default: return nullptr;
  }
}

}  // namespace

const GgmlTypeTraits* find_ggml_type(uint32_t type) {
  for (const auto& t : kTypes)
    if (static_cast<uint32_t>(t.type) == type) return &t;
  return nullptr;
}

const GgmlTypeTraits& ggml_type_traits(GgmlType type) {
  const GgmlTypeTraits* t = find_ggml_type(static_cast<uint32_t>(type));
  return t ? *t : kNotAType;
}

std::string_view ggml_type_name(GgmlType type) { return ggml_type_traits(type).name; }

std::string_view dequantizable_ggml_types() {
  return "F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K";
}

void dequantize_ggml(GgmlType type, const void* src, float* dst, int64_t count) {
  const GgmlTypeTraits& traits = ggml_type_traits(type);
  if (!traits.dequantizable)
    throw FormatError("dequantizing ggml type " + std::string(traits.name) + " (" +
                      std::to_string(static_cast<uint32_t>(type)) + "): expected one of " +
                      std::string(dequantizable_ggml_types()) + ", found a type squish cannot convert");
  if (count < 0 || count % traits.block_elements != 0)
    throw FormatError("dequantizing " + std::string(traits.name) + ": expected a whole number of " +
                      std::to_string(traits.block_elements) + "-element blocks, found " + std::to_string(count) +
                      " elements");
  if (count == 0) return;  // an empty tensor's buffers may be null, which memcpy must not be given
  const auto* in = static_cast<const uint8_t*>(src);
  switch (type) {
    case GgmlType::kF32: std::memcpy(dst, in, static_cast<size_t>(count) * 4); return;
    case GgmlType::kF16: convert_to_f32(dst, in, DType::kF16, static_cast<size_t>(count)); return;
    case GgmlType::kBF16: convert_to_f32(dst, in, DType::kBF16, static_cast<size_t>(count)); return;
    default: break;
  }
  const BlockFn fn = block_fn(type);
  const int64_t blocks = count / traits.block_elements;
  for (int64_t i = 0; i < blocks; ++i) fn(in + i * traits.block_bytes, dst + i * traits.block_elements);
}

}  // namespace squish
