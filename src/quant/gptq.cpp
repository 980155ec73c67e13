#include "quant/gptq.h"

// Eigen's own threads would fight the row tiles' (and its GEMM results must not depend on the team size).
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Cholesky>
#include <Eigen/Core>

#include <algorithm>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"

namespace squish {
namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Output rows per task: enough rows that the lazy block update is a real GEMM reusing U's block.
constexpr int64_t kRowTile = 16;

void check_options(int64_t k, const HessianAccumulator& h, const GptqOptions& options) {
  if (!is_group_bits(options.bits))
    throw ShapeError("GPTQ: " + std::to_string(options.bits) + " bits (expected 2, 3 or 4)");
  if (options.group_size <= 0 || k % options.group_size != 0)
    throw ShapeError("GPTQ: group size " + std::to_string(options.group_size) + " does not divide the input dimension " +
                     std::to_string(k));
  if (h.k() != k)
    throw ShapeError("GPTQ: Hessian of a " + std::to_string(h.k()) + "-wide input for weights with " + std::to_string(k) +
                     " input columns (expected the same width)");
  if (!(options.damp >= 0)) throw UsageError("GPTQ: --damp " + std::to_string(options.damp) + " (expected >= 0)");
  if (options.block_size < 1)
    throw UsageError("GPTQ: block size " + std::to_string(options.block_size) + " (expected >= 1)");
}

// Columns of L⁻¹ per triangular solve. Columns [j0, j1) of the lower triangular L⁻¹ are zero above row j0,
// so each block is an independent solve of size k − j0 (one task each) and the whole inverse costs k³/3.
constexpr int64_t kInverseBlock = 64;

// U with H⁻¹ = Uᵀ U, from the dampened H; `dead` marks inputs that were never active. With J the reversal
// permutation and J H J = L Lᵀ, H = R Rᵀ for the upper triangular R = J L J, so H⁻¹ = R⁻ᵀ R⁻¹ and, the
// Cholesky factor being unique, U = R⁻¹ = J L⁻¹ J: one factorisation and one triangular inverse (k³/3 flops
// each, 2 k² doubles), where the paper's code factorises, inverts and factorises again.
RowMatrix inverse_cholesky_upper(const HessianAccumulator& h, double damp, std::vector<bool>& dead) {
  const int64_t k = h.k();
  RowMatrix reversed = Eigen::Map<const RowMatrix>(h.hessian().data(), k, k).reverse();
  dead.assign(static_cast<size_t>(k), false);
  for (int64_t i = 0; i < k; ++i)
    if (reversed(i, i) == 0) {
      reversed(i, i) = 1;
      dead[static_cast<size_t>(k - 1 - i)] = true;
    }
  reversed.diagonal().array() += damp * reversed.diagonal().mean();
  const Eigen::LLT<Eigen::Ref<RowMatrix>> factor(reversed);  // L in place, in the lower triangle
  if (factor.info() != Eigen::Success)
    throw DataError("GPTQ: the Hessian of a " + std::to_string(k) + "-wide input is not positive definite after dampening " +
                    std::to_string(damp) + " (expected a larger --damp or more calibration tokens)");
  RowMatrix u = RowMatrix::Zero(k, k);
  parallel_for(
      (k + kInverseBlock - 1) / kInverseBlock,
      [&](int64_t b) {
        const int64_t j0 = b * kInverseBlock, j1 = std::min(j0 + kInverseBlock, k);
        auto columns = u.block(j0, j0, k - j0, j1 - j0);
        columns.topRows(j1 - j0).setIdentity();
        reversed.bottomRightCorner(k - j0, k - j0).triangularView<Eigen::Lower>().solveInPlace(columns);
      },
      1);
  u.reverseInPlace();
  return u;
}

// Rows [first, first + rows) of W through GPTQ, writing their codes and group parameters into q.
void quantize_tile(const float* w, int64_t first, int64_t rows, const RowMatrix& u, const std::vector<bool>& dead,
                   const GptqOptions& options, GroupQuantized& q) {
  const int64_t k = q.k, group = q.group_size, groups = q.groups_per_row();
  const int64_t block = std::max<int64_t>(1, options.block_size / group) * group;
  RowMatrix current = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
                          w + first * k, rows, k)
                          .cast<double>();
  for (int64_t c = 0; c < k; ++c)
    if (dead[static_cast<size_t>(c)]) current.col(c).setZero();
  RowMatrix errors(rows, block);
  std::vector<float> group_weights(static_cast<size_t>(group));
  for (int64_t begin = 0; begin < k; begin += block) {
    const int64_t end = std::min(begin + block, k);
    for (int64_t c = begin; c < end; ++c) {
      const double diagonal = u(c, c);
      for (int64_t r = 0; r < rows; ++r) {
        const size_t param = static_cast<size_t>((first + r) * groups + c / group);
        if (c % group == 0) {
          for (int64_t i = 0; i < group; ++i) group_weights[static_cast<size_t>(i)] = static_cast<float>(current(r, c + i));
          const GroupParams p = group_params(group_weights.data(), group, q.bits);
          q.scales[param] = p.scale;
          q.minimums[param] = p.minimum;
        }
        const GroupParams p{q.scales[param], q.minimums[param]};
        const uint8_t code = group_code(static_cast<float>(current(r, c)), p, q.bits);
        q.codes[static_cast<size_t>((first + r) * k + c)] = code;
        const float rounded = p.scale * static_cast<float>(code) + p.minimum;
        const double error = (current(r, c) - static_cast<double>(rounded)) / diagonal;
        errors(r, c - begin) = error;
        current.row(r).segment(c + 1, end - c - 1) -= error * u.row(c).segment(c + 1, end - c - 1);
      }
    }
    if (end < k)
      current.rightCols(k - end).noalias() -=
          errors.leftCols(end - begin) * u.block(begin, end, end - begin, k - end);
  }
}

}  // namespace

GroupQuantized gptq_quantize(const float* w, int64_t n, int64_t k, const HessianAccumulator& h, const GptqOptions& options) {
  check_options(k, h, options);
  std::vector<bool> dead;
  const RowMatrix u = inverse_cholesky_upper(h, options.damp, dead);
  GroupQuantized q;
  q.bits = options.bits;
  q.group_size = options.group_size;
  q.n = n;
  q.k = k;
  q.codes.resize(static_cast<size_t>(n * k));
  q.scales.resize(static_cast<size_t>(n * q.groups_per_row()));
  q.minimums.resize(static_cast<size_t>(n * q.groups_per_row()));
  const int64_t tiles = (n + kRowTile - 1) / kRowTile;
  parallel_for(
      tiles,
      [&](int64_t t) {
        const int64_t first = t * kRowTile;
        quantize_tile(w, first, std::min(kRowTile, n - first), u, dead, options, q);
      },
      1);
  return q;
}

}  // namespace squish
