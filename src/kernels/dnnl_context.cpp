#include "kernels/dnnl_context.h"

#include "kernels/cpu_features.h"

namespace squish {

dnnl::engine& cpu_engine() {
  static dnnl::engine engine = [] {
    switch (active_isa()) {
      case Isa::kAvx512: break;
      case Isa::kAvx2: dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx2); break;
      case Isa::kScalar: dnnl::set_max_cpu_isa(dnnl::cpu_isa::sse41); break;
    }
    return dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return engine;
}

dnnl::stream& thread_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

}  // namespace squish
