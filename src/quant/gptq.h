// GPTQ (Frantar et al. 2022, "GPTQ: Accurate Post-Training Quantization for Generative Pre-trained
// Transformers", Algorithm 1): rounds a Linear's weights to the 2/3/4-bit group grid of
// kernels/lowbit_scheme.h (or to int8's rows) one input column at a time, in natural order (or by decreasing H[i,i]
// with act_order, the authors' --act-order: each group's scale and minimum are then fixed beforehand from the original
// weights, since its columns are no longer visited together, and fitted to them: the range, min/max's or a narrower
// one, with the least rounding error weighted by H[i,i]), and after each column spreads its rounding error over the
// columns not yet rounded through the inverse Hessian of the layer-wise loss ‖X Wᵀ − X Qᵀ‖², so the Linear's *outputs*
// on the calibration inputs move as little as possible.
//
// As in the paper's code: dead inputs (H[i,i] == 0, never active in calibration) get H[i,i] = 1 and
// weight 0; H gets damp · mean(diag H) on its diagonal; the updates use the upper Cholesky factor U of
// H⁻¹ (H⁻¹ = Uᵀ U, row i of U is the update of column i over the remaining ones, U[i,i] its scale);
// errors are applied lazily in blocks of columns. A group's scale and minimum are chosen, like
// round-to-nearest's (group_params), from the group's weights as updated so far, when its first column
// is reached. Unlike the authors' code, where a group starting inside a block sees the weights as of
// the block's start, every group here sees all earlier columns' updates, so block_size changes only
// speed, never the result (up to floating-point rounding). Arithmetic is in double; the grid itself
// is fp32 with fp16 parameters, exactly what quantize_groups_rtn and the packed kernels use.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/lowbit_scheme.h"
#include "quant/hessian.h"

namespace squish {

struct GptqOptions {
  int bits = 4;              // 2, 3 or 4
  int64_t group_size = 64;   // divides K
  double damp = 0.01;        // fraction of H's mean diagonal added to its diagonal (--damp); >= 0
  int64_t block_size = 128;  // columns per lazy update, rounded to whole groups; speed only
  bool act_order = false;    // columns by decreasing H[i,i], groups' parameters fixed beforehand (--act_order)
};

// GPTQ of W[n, k] (row-major) against the Hessian of the Linear's calibration inputs. ShapeError for
// bits not 2/3/4, a group size not dividing k or a Hessian of another width; UsageError for a negative
// damp or a block size < 1; DataError when the Hessian saw no rows or is not positive definite after
// dampening. Deterministic: rows are processed in fixed tiles, whatever the thread count.
GroupQuantized gptq_quantize(const float* w, int64_t n, int64_t k, const HessianAccumulator& h, const GptqOptions& options);

// The same sweep onto int8's symmetric rows (kernels/int8_scheme.h: code = round(w / scale) in
// [-127, 127]), for W8A8 and W8A32 (llm-compressor's SmoothQuant-then-GPTQ recipe): each row's scale
// is given (round-to-nearest's, from the original weights, per channel or per tensor) and only the
// codes are chosen, so the scales a format stores are unchanged. options.bits and group_size are not
// read; act_order visits the columns by decreasing H[i,i]. Returns the codes [n, k]. ShapeError for a
// scale count other than n or a scale not > 0; the other errors as gptq_quantize's.
std::vector<int8_t> gptq_quantize_s8(const float* w, int64_t n, int64_t k, const HessianAccumulator& h,
                                     std::span<const float> row_scales, const GptqOptions& options);

}  // namespace squish
