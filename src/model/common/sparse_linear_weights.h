// Pruned Linear weights behind the Linear seam: the "sparse" format. In memory it is the dense fp32
// oneDNN-packed weight, zeros included, computed with gemm_packed: unstructured sparsity at the
// levels magnitude pruning reaches (50–90%) does not pay on CPUs, where a sparse GEMM's indexing
// costs more than the multiplies it skips, so the gain is on disk, not in speed or memory.
// On disk each HF module stores only its kept weights (docs/formats.md), in whichever encoding is
// fewer bytes for that module:
//   bitmask: ".weight_mask"    U8  [rows, ceil(K/8)]  bit j%8 of byte j/8 set = column j kept
//            ".weight_values"  F32 [nnz]              kept weights, row-major
//   CSR:     ".weight_indptr"  I32 [rows + 1]         row r's kept weights are [indptr[r], indptr[r+1])
//            ".weight_indices" U16 [nnz] (I32 when K > 65536), increasing within a row
//            ".weight_values"  F32 [nnz]
// CSR is smaller below a density of about 1/16 − 2/K. A weight is pruned when it is zero (either
// sign; it reloads as +0). Not here: choosing what to prune (prune/mask.h).
#pragma once

#include <memory>
#include <vector>

#include "kernels/gemm.h"
#include "model/common/linear.h"
#include "model/common/linear_formats.h"

namespace squish {

class SparseLinearWeights final : public LinearWeights {
 public:
  explicit SparseLinearWeights(const Tensor& w);

  std::string_view format() const override { return "sparse"; }
  int64_t out_features() const override { return packed_.n(); }
  int64_t in_features() const override { return packed_.k(); }
  int64_t bytes() const override { return packed_.bytes(); }
  Tensor dequantize() const override;
  void apply(float* y, const float* x, const float* bias, int64_t m, Epilogue epilogue,
             LinearWorkspace& workspace) const override;
  std::vector<TensorToWrite> stored_rows(int64_t first, int64_t rows) const override;

  int64_t nonzeros() const { return nonzeros_; }
  double density() const;

 private:
  PackedWeights packed_;
  int64_t nonzeros_ = 0;
};

// Sparse weights from dense fp32 [N, K] whose zeros are the pruned weights. ShapeError unless 2-D.
std::shared_ptr<const LinearWeights> sparse_f32_weights(const Tensor& w);
// The Linear's weights when they are sparse, else null.
const SparseLinearWeights* sparse_weights_of(const Linear& linear);

// Bytes each encoding stores for `rows` rows of width k that keep `nnz` weights.
int64_t sparse_bitmask_bytes(int64_t rows, int64_t k, int64_t nnz);
int64_t sparse_csr_bytes(int64_t rows, int64_t k, int64_t nnz);

// The traits table's reader: every part's tensors checked (one encoding per part, dtypes, shapes,
// popcount or indptr against the values' count, indptr from 0 and non-decreasing, indices in range
// and increasing within a row, no stored zero), each error a FormatError naming `file` and the tensor.
std::shared_ptr<const LinearWeights> read_sparse(const std::vector<LinearPart>& parts, int64_t k, int64_t group_size,
                                                 const StoredTensorLookup& lookup, const std::string& file);

}  // namespace squish
