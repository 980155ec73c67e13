#include "quant/gptq.h"

// Eigen's own threads would fight the row tiles' (and its GEMM results must not depend on the team size).
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <numeric>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "kernels/int8_scheme.h"

namespace squish {
namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Output rows per task: enough rows that the lazy block update is a real GEMM reusing U's block.
constexpr int64_t kRowTile = 16;

void check_options(int64_t k, const HessianAccumulator& h, const GptqOptions& options) {
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

// U with H⁻¹ = Uᵀ U, from the dampened H (a dead input's zero diagonal taken as 1). With J the reversal
// permutation and J H J = L Lᵀ, H = R Rᵀ for the upper triangular R = J L J, so H⁻¹ = R⁻ᵀ R⁻¹ and, the
// Cholesky factor being unique, U = R⁻¹ = J L⁻¹ J: one factorisation and one triangular inverse (k³/3 flops
// each, 2 k² doubles), where the paper's code factorises, inverts and factorises again.
RowMatrix inverse_cholesky_upper(const RowMatrix& hessian, double damp) {
  const int64_t k = hessian.rows();
  RowMatrix reversed = hessian.reverse();
  for (int64_t i = 0; i < k; ++i)
    if (reversed(i, i) == 0) reversed(i, i) = 1;
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

// Act order's group parameters, fixed before any column is rounded: min/max's, or a narrower range
// where that lowers the group's rounding error Σ_i H[i,i]·(w_i − q(w_i))², each input weighted by its
// energy, as GPTQ's loss weighs it. Candidates pull the top end, the bottom end or both toward zero in
// 2.5% steps down to half (min/max's range is kept on ties).
GroupParams fitted_group_params(const float* w, const double* energy, int64_t count, int bits) {
  const auto error = [&](GroupParams p) {
    double sum = 0;
    for (int64_t i = 0; i < count; ++i) {
      const float rounded = p.scale * static_cast<float>(group_code(w[i], p, bits)) + p.minimum;
      const double d = static_cast<double>(w[i]) - static_cast<double>(rounded);
      sum += energy[i] * d * d;
    }
    return sum;
  };
  const auto [lo, hi] = std::minmax_element(w, w + count);
  GroupParams best = group_params(w, count, bits);
  double best_error = error(best);
  constexpr int kSteps = 20;
  for (int step = 1; step <= kSteps; ++step) {
    const float shrink = 1.0f - 0.025f * static_cast<float>(step);
    const std::array<std::array<float, 2>, 3> ranges = {
        {{*lo * shrink, *hi * shrink}, {*lo, *hi * shrink}, {*lo * shrink, *hi}}};
    for (const std::array<float, 2>& range : ranges) {
      const GroupParams p = group_params(range.data(), 2, bits);
      const double e = error(p);
      if (e < best_error) {
        best_error = e;
        best = p;
      }
    }
  }
  return best;
}

// The 2/3/4-bit group grid: a group's scale and minimum come from its weights as updated so far when
// its first column is reached; with act order they are fixed before the sweep, fitted to the
// dead-zeroed original weights (energy: H's diagonal), since a group's columns are no longer visited
// together.
class GroupGrid {
 public:
  GroupGrid(GroupQuantized& q, const GptqOptions& options, const std::vector<double>& energy)
      : q_(q), act_order_(options.act_order), energy_(energy), weights_(static_cast<size_t>(q.group_size)) {}

  // original(r, c): row r's weight of input c, dead inputs zeroed.
  template <class Original>
  void prepare(int64_t first, int64_t rows, const Original& original) {
    if (!act_order_) return;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t g = 0; g < q_.groups_per_row(); ++g)
        set_params(first + r, g, [&](int64_t c) { return original(r, c); });
  }

  // The rounded value of row `row`'s input `original`, the `visited`-th column of the sweep, whose
  // weight is now `value`; current(c) is the row's weight of the c-th visited column as updated so far.
  template <class Current>
  float round(int64_t row, int64_t visited, int64_t original, double value, const Current& current) {
    const int64_t group = q_.group_size;
    if (!act_order_ && visited % group == 0) set_params(row, visited / group, current);
    const size_t param = static_cast<size_t>(row * q_.groups_per_row() + original / group);
    const GroupParams p{q_.scales[param], q_.minimums[param]};
    const uint8_t code = group_code(static_cast<float>(value), p, q_.bits);
    q_.codes[static_cast<size_t>(row * q_.k + original)] = code;
    return p.scale * static_cast<float>(code) + p.minimum;
  }

 private:
  template <class Weight>
  void set_params(int64_t row, int64_t g, const Weight& weight_of) {
    const int64_t group = q_.group_size;
    for (int64_t i = 0; i < group; ++i) weights_[static_cast<size_t>(i)] = static_cast<float>(weight_of(g * group + i));
    const GroupParams p = act_order_ ? fitted_group_params(weights_.data(), energy_.data() + g * group, group, q_.bits)
                                     : group_params(weights_.data(), group, q_.bits);
    q_.scales[static_cast<size_t>(row * q_.groups_per_row() + g)] = p.scale;
    q_.minimums[static_cast<size_t>(row * q_.groups_per_row() + g)] = p.minimum;
  }

  GroupQuantized& q_;
  bool act_order_;
  const std::vector<double>& energy_;
  std::vector<float> weights_;  // one group's, thread-local with the grid
};

// int8's symmetric rows (kernels/int8_scheme.h): every row's scale is given, the codes are chosen.
class RowScaleGrid {
 public:
  RowScaleGrid(std::span<const float> scales, std::vector<int8_t>& codes, int64_t k)
      : scales_(scales), codes_(codes), k_(k) {}
  template <class Original>
  void prepare(int64_t, int64_t, const Original&) {}
  template <class Current>
  float round(int64_t row, int64_t, int64_t original, double value, const Current&) {
    const float scale = scales_[static_cast<size_t>(row)];
    const int8_t code = round_to_s8(static_cast<float>(value) / scale);
    codes_[static_cast<size_t>(row * k_ + original)] = code;
    return scale * static_cast<float>(code);
  }

 private:
  std::span<const float> scales_;
  std::vector<int8_t>& codes_;
  int64_t k_;
};

// Rows [first, first + rows) of W through GPTQ onto `grid`, which records their codes. Columns are
// visited in `order` (u is H⁻¹'s factor in that order); `block` columns are updated lazily at once.
template <class Grid>
void quantize_tile(const float* w, int64_t k, int64_t first, int64_t rows, const RowMatrix& u,
                   const std::vector<bool>& dead, const std::vector<int64_t>& order, int64_t block, Grid& grid) {
  RowMatrix current(rows, k);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < k; ++c) {
      const int64_t original = order[static_cast<size_t>(c)];
      current(r, c) = dead[static_cast<size_t>(original)] ? 0.0 : static_cast<double>(w[(first + r) * k + original]);
    }
  grid.prepare(first, rows,
               [&](int64_t r, int64_t c) { return dead[static_cast<size_t>(c)] ? 0.0f : w[(first + r) * k + c]; });
  RowMatrix errors(rows, block);
  for (int64_t begin = 0; begin < k; begin += block) {
    const int64_t end = std::min(begin + block, k);
    for (int64_t c = begin; c < end; ++c) {
      const double diagonal = u(c, c);
      const int64_t original = order[static_cast<size_t>(c)];
      for (int64_t r = 0; r < rows; ++r) {
        const float rounded =
            grid.round(first + r, c, original, current(r, c), [&](int64_t i) { return current(r, i); });
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

// What both grids share: each input's energy H[i,i] (a dead input, never active, has none and its
// weights count as 0), the sweep's column order, and U of the dampened H in that order.
struct Sweep {
  std::vector<double> energy;
  std::vector<bool> dead;
  std::vector<int64_t> order;
  RowMatrix u;
};

Sweep prepare_sweep(const HessianAccumulator& h, double damp, bool act_order) {
  const int64_t k = h.k();
  const RowMatrix hessian = Eigen::Map<const RowMatrix>(h.hessian().data(), k, k);
  Sweep s;
  s.energy.resize(static_cast<size_t>(k));
  s.dead.resize(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) {
    s.energy[static_cast<size_t>(i)] = hessian(i, i);
    s.dead[static_cast<size_t>(i)] = hessian(i, i) == 0;
  }
  s.order.resize(static_cast<size_t>(k));
  std::iota(s.order.begin(), s.order.end(), 0);
  if (!act_order) {
    s.u = inverse_cholesky_upper(hessian, damp);
    return s;
  }
  // The inputs with the most energy first (a dead one counts 1); ties in input order.
  const auto key = [&](int64_t i) { return s.dead[static_cast<size_t>(i)] ? 1.0 : s.energy[static_cast<size_t>(i)]; };
  std::stable_sort(s.order.begin(), s.order.end(), [&](int64_t a, int64_t b) { return key(a) > key(b); });
  RowMatrix permuted(k, k);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j)
      permuted(i, j) = hessian(s.order[static_cast<size_t>(i)], s.order[static_cast<size_t>(j)]);
  s.u = inverse_cholesky_upper(permuted, damp);
  return s;
}

// The sweep over every row of W[n, k], in tiles of kRowTile rows, each with its own grid (make_grid()).
template <class MakeGrid>
void sweep_rows(const float* w, int64_t n, int64_t k, const Sweep& s, int64_t block, const MakeGrid& make_grid) {
  parallel_for((n + kRowTile - 1) / kRowTile,
               [&](int64_t t) {
                 const int64_t first = t * kRowTile;
                 auto grid = make_grid();
                 quantize_tile(w, k, first, std::min(kRowTile, n - first), s.u, s.dead, s.order, block, grid);
               },
               1);
}

}  // namespace

GroupQuantized gptq_quantize(const float* w, int64_t n, int64_t k, const HessianAccumulator& h,
                             const GptqOptions& options) {
  check_options(k, h, options);
  if (!is_group_bits(options.bits))
    throw ShapeError("GPTQ: " + std::to_string(options.bits) + " bits (expected 2, 3 or 4)");
  if (options.group_size <= 0 || k % options.group_size != 0)
    throw ShapeError("GPTQ: group size " + std::to_string(options.group_size) +
                     " does not divide the input dimension " + std::to_string(k));
  const Sweep s = prepare_sweep(h, options.damp, options.act_order);
  GroupQuantized q;
  q.bits = options.bits;
  q.group_size = options.group_size;
  q.n = n;
  q.k = k;
  q.codes.resize(static_cast<size_t>(n * k));
  q.scales.resize(static_cast<size_t>(n * q.groups_per_row()));
  q.minimums.resize(static_cast<size_t>(n * q.groups_per_row()));
  const int64_t block = std::max<int64_t>(1, options.block_size / q.group_size) * q.group_size;
  sweep_rows(w, n, k, s, block, [&] { return GroupGrid(q, options, s.energy); });
  return q;
}

std::vector<int8_t> gptq_quantize_s8(const float* w, int64_t n, int64_t k, const HessianAccumulator& h,
                                     std::span<const float> row_scales, const GptqOptions& options) {
  check_options(k, h, options);
  if (static_cast<int64_t>(row_scales.size()) != n)
    throw ShapeError("GPTQ: " + std::to_string(row_scales.size()) + " row scales for " + std::to_string(n) +
                     " rows (expected one a row)");
  for (const float scale : row_scales)
    if (!(scale > 0)) throw ShapeError("GPTQ: an int8 row scale of " + std::to_string(scale) + " (expected > 0)");
  const Sweep s = prepare_sweep(h, options.damp, options.act_order);
  std::vector<int8_t> codes(static_cast<size_t>(n * k));
  sweep_rows(w, n, k, s, options.block_size, [&] { return RowScaleGrid(row_scales, codes, k); });
  return codes;
}

}  // namespace squish
