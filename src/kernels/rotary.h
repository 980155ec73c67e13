// Rotary position embeddings as HF's Llama applies them ("rotate half": each head's first and
// second halves are the two coordinates of HD/2 rotated pairs), on Q and K rows in place. Weights
// stored for llama.cpp's interleaved pairing are un-permuted at load (model/llama), so this one
// layout serves every source.
#pragma once

#include <cstdint>
#include <vector>

namespace squish {

// cos and sin of position · inv_freq[i] for positions [0, positions), i < head_dim / 2, computed as
// HF does in fp32 (inv_freq = 1 / theta^(2i / head_dim), the angle a fp32 product), then rounded
// from double-precision cos and sin.
class RotaryTable {
 public:
  RotaryTable() = default;
  RotaryTable(int64_t head_dim, double theta, int64_t positions);
  int64_t head_dim() const { return head_dim_; }
  int64_t positions() const { return positions_; }
  const float* cos_row(int64_t position) const { return cos_.data() + position * (head_dim_ / 2); }
  const float* sin_row(int64_t position) const { return sin_.data() + position * (head_dim_ / 2); }

 private:
  int64_t head_dim_ = 0, positions_ = 0;
  std::vector<float> cos_, sin_;  // [positions, head_dim / 2]
};

// For each of `rows` rows of `x` (row stride `row_stride` floats), rotates `heads` consecutive heads
// of table.head_dim() floats starting at the row's first float by the row's position:
//   y[i] = x[i] cos - x[i + HD/2] sin,  y[i + HD/2] = x[i + HD/2] cos + x[i] sin   (i < HD/2)
// positions[r] must be below table.positions().
void apply_rotary(float* x, int64_t rows, int64_t row_stride, int64_t heads, const int32_t* positions,
                  const RotaryTable& table);

}  // namespace squish
