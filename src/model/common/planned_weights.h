// Reads the Linears and the token embedding table of a squish container by its plan, for every
// architecture: each architecture's name-table walker asks for a Linear by its name, HF modules and
// input width, and gets the weights in the format the plan records (model/common/linear_formats.h),
// never widened to fp32. After the walk, check_all_read() refuses a plan naming a Linear the
// architecture does not have, so a container written for another model is never half-read.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model/common/embedding_table.h"
#include "model/common/linear_formats.h"
#include "model/common/tensor_binder.h"

namespace squish {

class PlannedWeights {
 public:
  // `binder` finds the stored tensors (and marks them used); `file` names them in errors.
  PlannedWeights(const ContainerPlan& plan, TensorBinder& binder, std::string file);

  // The weights of Linear `linear` made of HF modules `parts`, in its planned format. FormatError
  // naming the file when the plan does not list it or a stored tensor does not fit the format.
  std::shared_ptr<const LinearWeights> linear(const std::string& linear, const std::vector<LinearPart>& parts,
                                              int64_t in_features);
  // The embedding table stored under HF module `module` [rows, cols] in the plan's format; none
  // when the plan keeps it as f32 (the walker reads it as floats).
  std::optional<EmbeddingTable> table(const std::string& module, int64_t rows, int64_t cols);
  // FormatError when the plan names a Linear the walk never asked for.
  void check_all_read(const std::string& architecture) const;

 private:
  const ContainerPlan& plan_;
  std::string file_;
  StoredTensorLookup lookup_;
  std::set<std::string> read_;
};

}  // namespace squish
