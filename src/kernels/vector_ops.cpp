#include "kernels/vector_ops.h"

namespace squish {
namespace isa_avx512 { extern const VectorOps kVectorOps; }
namespace isa_avx2 { extern const VectorOps kVectorOps; }
namespace isa_scalar { extern const VectorOps kVectorOps; }

const VectorOps& vector_ops_for(Isa isa) {
  switch (isa) {
    case Isa::kAvx512: return isa_avx512::kVectorOps;
    case Isa::kAvx2: return isa_avx2::kVectorOps;
    case Isa::kScalar: break;
  }
  return isa_scalar::kVectorOps;
}

const VectorOps& vector_ops() {
  static const VectorOps& ops = vector_ops_for(active_isa());
  return ops;
}

}  // namespace squish
