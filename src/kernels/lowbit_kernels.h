// The per-ISA halves of gemm_lowbit and gemm_f16 (gemm_lowbit.h): the packed layouts they read
// and the table of functions each ISA folder compiles (gemm_lowbit_impl.h, gemm_f16_impl.h).
//
// Low-bit layout. Columns (output rows n of W) are cut into tiles of kTileColumns = 16, padded
// with zero columns; a tile is stored group after group, each group as one block:
//   codes:   group_size · 16 · bits / 8 bytes, in 64-byte vectors. Byte 4j+i of a vector holds
//            column j's weights k = 4q+i of several K-quads q: 4 bits holds two quads (low nibble
//            the first), 2 bits four (bits 2s..2s+1 the s-th). One vector thus feeds vpdpbusd's 16
//            lanes (one per column, 4 products each) once per quad after a shift and a mask.
//   scales:  16 fp16 (32 bytes), minimums: 16 fp16 (32 bytes): the group's parameters, per column.
// Bytes = tiles · 16 · (K · bits / 8 + 4 · K / group_size), i.e. bits / 8 + 4 / group_size bytes
// per weight plus the padding to 16 columns (4-bit g64: 0.5625 bytes, 2-bit g64: 0.3125).
// Reconstruction: w[n, k] = scale[n, g] · code[n, k] + minimum[n, g] (kernels/lowbit_scheme.h).
//
// fp16 layout: columns in panels of kF16PanelColumns = 32, padded with zero columns; a panel is K
// rows of 32 halves (64 bytes), panel[p · 32 + j] = W[c0 + j, p]. The kernel broadcasts x[r, p]
// against a panel row widened to fp32 (outer products, as oneDNN's fp32 brgemm does), so every
// output keeps its sum in a register lane: no horizontal reductions and one conversion per 16
// weights for a whole block of rows.
#pragma once

#include <cmath>
#include <cstdint>

namespace squish::lowbit {

inline constexpr int64_t kTileColumns = 16;
// Rows of x one work item keeps hot while it walks a tile's K.
inline constexpr int64_t kRowBlock = 64;

inline int64_t group_code_bytes(int bits, int64_t group_size) { return group_size * kTileColumns * bits / 8; }
inline int64_t group_block_bytes(int bits, int64_t group_size) {
  return group_code_bytes(bits, group_size) + 2 * kTileColumns * static_cast<int64_t>(sizeof(uint16_t));
}

// x's rows as the low-bit kernels consume them: symmetric s8, one scale per row
// (xs = max|x| / 127, xq = round-to-nearest-even(x · symmetric_inverse_scale(max|x|))), and each
// group's sum of xq (the minimums' term).
// 127 / max|x|, or 0 (all codes zero) for a zero row and for rows so small (max|x| < 127 / FLT_MAX)
// that the inverse overflows.
inline float symmetric_inverse_scale(float amax) {
  const float inverse = amax > 0.0f ? 127.0f / amax : 0.0f;
  return std::isfinite(inverse) ? inverse : 0.0f;
}

struct QuantizedRows {
  int8_t* codes;       // [rows, k]
  int32_t* group_sums; // [rows, k / group_size]
  float* scales;       // [rows]
};

// A work item's consecutive tiles (kTilesPerItem of them at most) for `rows` rows:
// y[r, c] (+)= xs[r] · Σ_g (...) + bias[c] for c < cols (≤ 16 · kTilesPerItem). Two tiles at once
// let each broadcast activation quad feed two vpdpbusd instead of one.
inline constexpr int64_t kTilesPerItem = 2;
struct TileArgs {
  float* y;
  int64_t ldy;
  const uint8_t* blocks;  // the first tile's first group block; the next tile's is tile_bytes further
  const int8_t* xq;       // first row's codes; rows are k apart
  const int32_t* group_sums;
  const float* row_scales;
  const float* bias;      // already offset to the tile's first column; may be null
  int64_t rows, cols, k, group_size;
  int bits;
  bool accumulate;
  int64_t tile_bytes;
};

struct LowBitKernels {
  void (*quantize_rows)(const QuantizedRows& out, const float* x, int64_t rows, int64_t k, int64_t group_size);
  void (*tile)(const TileArgs& a);
};

inline constexpr int64_t kF16PanelColumns = 32;
// Panels a work item of gemm_f16 covers (the most columns a block of a few rows takes at once).
inline constexpr int64_t kF16PanelsPerItem = 4;

// fp16, consecutive panels (k · 32 halves each): y[r, j] (+)= Σ_p x[r, p] · W[j, p] + bias[j] for
// r < rows, j < cols; x rows are k apart; each sum runs over p in order, one fp32 FMA a term, then
// the bias, then y.
struct F16Kernels {
  void (*panels)(float* y, int64_t ldy, const float* x, const uint16_t* panels, const float* bias, int64_t rows,
                 int64_t cols, int64_t k, bool accumulate);
  // out[0, k) += the widened halves (an embedding gather's row).
  void (*add_row)(float* out, const uint16_t* halves, int64_t k);
};

}  // namespace squish::lowbit
