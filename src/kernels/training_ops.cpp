// The public training kernels (training_ops.h): thread splitting around the per-ISA loops of
// training_row_ops.h, and the kernels too simple or too small to need an ISA variant.
// Column sums (bias, LayerNorm parameters, embedding rows) are blocked by a fixed number of rows
// or columns, never by thread, so their rounding does not change with the thread count.
#include "kernels/training_ops.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/random.h"
#include "kernels/training_row_ops.h"

namespace squish {
namespace {

// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kParallelElements = 32768;
// Elementwise kernels run in blocks of this many elements, one call of the row op each.
constexpr int64_t kElementBlock = 4096;
// Column sums: each block of this many rows sums into its own partial, and the partials are added
// in block order. 64 rows keep the partials small (rows/64 · n floats) with enough blocks to
// share out (4096 tokens: 64 blocks).
constexpr int64_t kRowsPerPartial = 64;
// embedding_backward gives each thread whole 64-byte lines of the table's rows.
constexpr int64_t kColumnBlock = 16;

int64_t blocks_of(int64_t count, int64_t block) { return (count + block - 1) / block; }

// out[j] += Σ_b partials[b][j], in block order.
void add_partials(float* out, const float* partials, int64_t blocks, int64_t n) {
  for (int64_t b = 0; b < blocks; ++b) {
    const float* p = partials + b * n;
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) out[j] += p[j];
  }
}

}  // namespace

void add_bias(float* y, const float* b, int64_t rows, int64_t n) {
#pragma omp parallel for schedule(static) if (rows * n > kParallelElements)
  for (int64_t r = 0; r < rows; ++r) {
    float* yr = y + r * n;
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) yr[j] += b[j];
  }
}

void bias_backward(float* db, const float* dy, int64_t rows, int64_t n) {
  const int64_t blocks = blocks_of(rows, kRowsPerPartial);
  std::vector<float> partials(static_cast<size_t>(blocks * n), 0.0f);
#pragma omp parallel for schedule(static) if (rows * n > kParallelElements)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    float* p = partials.data() + blk * n;
    for (int64_t r = blk * kRowsPerPartial; r < std::min(rows, (blk + 1) * kRowsPerPartial); ++r) {
      const float* dyr = dy + r * n;
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) p[j] += dyr[j];
    }
  }
  add_partials(db, partials.data(), blocks, n);
}

void gelu_forward(float* y, const float* x, int64_t n) {
  const TrainingRowOps& ops = training_row_ops();
#pragma omp parallel for schedule(static) if (n > kParallelElements)
  for (int64_t i = 0; i < n; i += kElementBlock) ops.gelu_forward(y + i, x + i, std::min(kElementBlock, n - i));
}

void gelu_backward(float* dx, const float* dy, const float* x, int64_t n) {
  const TrainingRowOps& ops = training_row_ops();
#pragma omp parallel for schedule(static) if (n > kParallelElements)
  for (int64_t i = 0; i < n; i += kElementBlock)
    ops.gelu_backward(dx + i, dy + i, x + i, std::min(kElementBlock, n - i));
}

void tanh_backward(float* dx, const float* dy, const float* y, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

void layernorm_forward(float* y, float* mean, float* rstd, const float* x, const float* gamma, const float* beta,
                       int64_t rows, int64_t n, float eps) {
  const TrainingRowOps& ops = training_row_ops();
#pragma omp parallel for schedule(static) if (rows * n > kParallelElements)
  for (int64_t r = 0; r < rows; ++r)
    ops.layernorm_forward(y + r * n, mean + r, rstd + r, x + r * n, gamma, beta, 1, n, eps);
}

void layernorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x, const float* mean,
                        const float* rstd, const float* gamma, int64_t rows, int64_t n) {
  const TrainingRowOps& ops = training_row_ops();
  const int64_t blocks = blocks_of(rows, kRowsPerPartial);
  // [blocks][n] of dgamma partials, then [blocks][n] of dbeta partials.
  std::vector<float> partials(static_cast<size_t>(2 * blocks * n), 0.0f);
#pragma omp parallel for schedule(static) if (rows * n > kParallelElements)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t r0 = blk * kRowsPerPartial, count = std::min(kRowsPerPartial, rows - r0);
    ops.layernorm_backward(dx + r0 * n, partials.data() + blk * n, partials.data() + (blocks + blk) * n, dy + r0 * n,
                           x + r0 * n, mean + r0, rstd + r0, gamma, count, n);
  }
  add_partials(dgamma, partials.data(), blocks, n);
  add_partials(dbeta, partials.data() + blocks * n, blocks, n);
}

void dropout_mask(uint8_t* keep, int64_t n, float p, uint64_t stream) {
  if (!(p >= 0.0f && p < 1.0f)) throw UsageError("dropout_mask: p expected in [0, 1), found " + std::to_string(p));
#pragma omp parallel for schedule(static) if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) keep[i] = random_uniform(stream, static_cast<uint64_t>(i)) >= p ? 1 : 0;
}

void dropout_mask_rows(uint8_t* keep, int64_t rows, int64_t cols, float p, uint64_t stream, const uint64_t* row_keys) {
  if (!(p >= 0.0f && p < 1.0f)) throw UsageError("dropout_mask: p expected in [0, 1), found " + std::to_string(p));
#pragma omp parallel for schedule(static) if (rows * cols > kParallelElements)
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      keep[r * cols + c] = random_uniform(stream, row_keys[r] + static_cast<uint64_t>(c)) >= p ? 1 : 0;
}

void dropout_apply(float* y, const float* x, const uint8_t* keep, int64_t n, float p) {
  const float scale = 1.0f / (1.0f - p);
#pragma omp parallel for simd schedule(static) if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) y[i] = keep[i] ? x[i] * scale : 0.0f;
}

// Serial and in double: B·C is a few hundred values, and the loss is a sum over the batch.
float softmax_cross_entropy(float* d_logits, const float* logits, const int32_t* labels, int64_t batch, int64_t classes,
                            int64_t mean_over) {
  double loss = 0.0;
  for (int64_t b = 0; b < batch; ++b) {
    const int32_t label = labels[b];
    if (label < 0 || label >= classes)
      throw DataError("softmax_cross_entropy: label of example " + std::to_string(b) + " expected in [0, " +
                      std::to_string(classes) + "), found " + std::to_string(label));
    const float* row = logits + b * classes;
    const double mx = *std::max_element(row, row + classes);
    double sum = 0.0;
    for (int64_t c = 0; c < classes; ++c) sum += std::exp(row[c] - mx);
    loss += std::log(sum) + mx - row[label];
    for (int64_t c = 0; c < classes; ++c) {
      const double softmax = std::exp(row[c] - mx) / sum;
      d_logits[b * classes + c] =
          static_cast<float>((softmax - (c == label ? 1.0 : 0.0)) / static_cast<double>(mean_over));
    }
  }
  return static_cast<float>(loss / static_cast<double>(mean_over));
}

void embedding_backward(float* d_table, const float* dy, const int32_t* ids, int64_t rows, int64_t n) {
  const int64_t blocks = blocks_of(n, kColumnBlock);
#pragma omp parallel for schedule(static) if (rows * n > kParallelElements)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t j0 = blk * kColumnBlock, j1 = std::min(n, j0 + kColumnBlock);
    for (int64_t r = 0; r < rows; ++r) {
      float* out = d_table + static_cast<int64_t>(ids[r]) * n;
      const float* in = dy + r * n;
      for (int64_t j = j0; j < j1; ++j) out[j] += in[j];
    }
  }
}

}  // namespace squish
