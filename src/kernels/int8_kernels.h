// The per-ISA half of the int8 GEMM on machines without AVX-512 VNNI (gemm_int8.h): the packed
// layout it reads and the table each ISA folder compiles (gemm_int8_impl.h).
//
// Why not oneDNN there: without VNNI, oneDNN multiplies u8 × s8 with vpmaddubsw, whose int16 pair
// sums saturate once 2 · x · 127 > 32767 (x > 129), so a u8 activation grid of 255 steps would be
// computed wrongly. These kernels widen both sides to int16 and multiply with vpmaddwd (int16 pairs
// summed into int32): exact for every u8 × s8, with as many multiplies per product as vpmaddubsw +
// vpmaddwd, but an int32 add per 16 products instead of per 32 (bench/results/int8_avx2.md).
//
// Weight layout ("pair tiles"). Columns (output rows n of W) are cut into tiles of kTileColumns =
// 16, padded with zero columns; K is padded to an even K2 with zeros. A tile is K2 / 2 blocks of 32
// bytes, one per pair of K: byte 2c + i of block p holds W[16t + c, 2p + i]. Each 16-byte half
// widens (vpmovsxbw) to 8 columns' int16 pairs, the lanes vpmaddwd multiplies with a broadcast
// pair of activations. Tile bytes: 16 · K2.
// Activations: x widened to int16, rows K2 apart (zero in the padding), so a pair is one 32-bit
// broadcast.
#pragma once

#include <cstdint>

namespace squish::int8 {

inline constexpr int64_t kTileColumns = 16;
// A work item's rows are a panel of x whose widened rows fit in this many bytes (half the L2 of
// Zen 3 and Skylake), so the panel stays in L2 while the item's thread walks its tiles.
inline constexpr int64_t kPanelBytes = 256 * 1024;
// The AVX2 kernel's rows, and the multiple panel heights are made of: 5 rows × 16 columns keep 10
// accumulators, 2 weight vectors, a broadcast and a product in 14 of the 16 registers (6 rows
// spilled two accumulators to the stack in every step of the K loop).
inline constexpr int64_t kRowGranule = 5;

inline int64_t padded_k(int64_t k) { return (k + 1) / 2 * 2; }

// What a tile does with its exact int32 products acc[r, c] = Σ_k x[r, k] · W[c, k]: stores them
// (y null), or dequantizes them as apply_dequant_epilogue() does (kernels/epilogue.h), in the same
// fp32 operations, so that no int32 buffer is written and read back:
//   y[r, c] (+)= (row_scales[r] · col_scales[c]) · float(acc − row_zero_points[r] · col_sums[c]) + bias[c]
struct OutputStage {
  float* y = nullptr;  // the tile's first output; rows ldy apart
  int64_t ldy = 0;
  const float* row_scales = nullptr;         // from the tile's first row
  const int32_t* row_zero_points = nullptr;  // from the tile's first row
  const float* col_scales = nullptr;         // from the tile's first column
  const int32_t* col_sums = nullptr;         // from the tile's first column
  const float* bias = nullptr;               // from the tile's first column; may be null
  bool accumulate = false;
};

// One tile for r < rows, c < cols (≤ 16).
struct TileArgs {
  int32_t* acc;  // the tile's first int32 product (unused with an output stage); rows ldacc apart
  int64_t ldacc;
  const int8_t* tile;  // the tile's first pair block
  const int16_t* x;    // first row's widened activations; rows k2 apart
  int64_t rows, cols, k2;
  OutputStage out;
};

struct Int8Kernels {
  void (*tile)(const TileArgs& a);
};

}  // namespace squish::int8
