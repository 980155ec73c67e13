#include "kernels/training_row_ops.h"

namespace squish {
namespace isa_avx512 { extern const TrainingRowOps kTrainingRowOps; }
namespace isa_avx2 { extern const TrainingRowOps kTrainingRowOps; }
namespace isa_scalar { extern const TrainingRowOps kTrainingRowOps; }

const TrainingRowOps& training_row_ops_for(Isa isa) {
  switch (isa) {
    case Isa::kAvx512: return isa_avx512::kTrainingRowOps;
    case Isa::kAvx2: return isa_avx2::kTrainingRowOps;
    case Isa::kScalar: break;
  }
  return isa_scalar::kTrainingRowOps;
}

const TrainingRowOps& training_row_ops() {
  static const TrainingRowOps& ops = training_row_ops_for(active_isa());
  return ops;
}

}  // namespace squish
