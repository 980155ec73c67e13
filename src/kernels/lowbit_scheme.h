// squish's low-bit weight convention (2, 3 and 4 bits, weight-only), written once:
//   w[n, k] ≈ scale[n, g] · code[n, k] + minimum[n, g]      g = k / group_size
// Codes are unsigned, code ∈ [0, 2^bits − 1]; each group of `group_size` consecutive weights along
// the input dimension K of one output row has its own scale and minimum (asymmetric, like GPTQ's
// and llama.cpp's Q4_1 groups: a group's smallest weight is exact and no code is wasted on a range
// that is not centred). Scales and minimums are stored as fp16, so the quantizers round them to fp16
// *before* choosing codes: what a quantizer computes with is exactly what a saved model holds.
// Bits per weight, group parameters included: bits + 32 / group_size (4-bit g64: 4.5, 3-bit g64: 3.5,
// 2-bit g64: 2.5).
//
// GroupQuantized is the unpacked form (one code per byte) that quantizers (round-to-nearest here,
// GPTQ in quant/gptq.h) produce and the packed kernels' packers consume.
#pragma once

#include <cstdint>
#include <vector>

namespace squish {

struct GroupParams {
  float scale;    // > 0, an fp16 value
  float minimum;  // an fp16 value
};

struct GroupQuantized {
  int bits = 4;              // 2, 3 or 4
  int64_t group_size = 64;   // divides k
  int64_t n = 0, k = 0;
  std::vector<uint8_t> codes;     // [n, k] row-major, each < 2^bits
  std::vector<float> scales;      // [n, k / group_size], fp16 values
  std::vector<float> minimums;    // [n, k / group_size], fp16 values

  int64_t groups_per_row() const { return k / group_size; }
};

// The largest code at `bits`: 2^bits − 1.
inline int max_code(int bits) { return (1 << bits) - 1; }

// Round-to-nearest parameters of one group of `count` weights: minimum = min(w) and
// scale = (max(w) − min(w)) / max_code(bits), both rounded to fp16 (a constant group gets scale 1
// and is exact up to the fp16 rounding of its minimum).
GroupParams group_params(const float* w, int64_t count, int bits);
// The code of w on a group's grid: round-to-nearest of (w − minimum) / scale, clamped to [0, max_code].
uint8_t group_code(float w, GroupParams p, int bits);

// Whether `bits` is a group width squish stores and runs: 2, 3 or 4.
inline bool is_group_bits(int bits) { return bits >= 2 && bits <= 4; }

// Round-to-nearest quantization of W[n, k] (row-major). ShapeError unless bits ∈ {2, 3, 4} and
// group_size > 0 divides k.
GroupQuantized quantize_groups_rtn(const float* w, int64_t n, int64_t k, int bits, int64_t group_size);
// W[n, k] back in fp32: scale · code + minimum.
void dequantize_groups(const GroupQuantized& q, float* w);

}  // namespace squish
