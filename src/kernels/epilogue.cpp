#include "kernels/epilogue.h"

#include "kernels/dnnl_context.h"
#include "kernels/vector_ops.h"

namespace squish {
namespace {

// GELU-erf, tanh and ReLU through oneDNN's vectorised eltwise kernels, in place; cached by element count.
void eltwise_in_place(float* y, int64_t count, dnnl::algorithm algorithm) {
  using dnnl::memory;
  static PrimitiveCache<std::pair<int64_t, dnnl::algorithm>, dnnl::eltwise_forward> primitives(8);
  const memory::desc md({count}, memory::data_type::f32, memory::format_tag::a);
  const auto primitive = primitives.get({count, algorithm}, [&] {
    return dnnl::eltwise_forward(dnnl::eltwise_forward::primitive_desc(
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, algorithm, md, 0.0f, 0.0f), cpu_engine()));
  });
  memory m(md, cpu_engine(), y);
  primitive.execute(thread_stream(), {{DNNL_ARG_SRC, m}, {DNNL_ARG_DST, m}});
  thread_stream().wait();
}

}  // namespace

void apply_activation(float* y, int64_t count, Epilogue epilogue) {
  if (epilogue == Epilogue::kGelu) eltwise_in_place(y, count, dnnl::algorithm::eltwise_gelu_erf);
  if (epilogue == Epilogue::kTanh) eltwise_in_place(y, count, dnnl::algorithm::eltwise_tanh);
  if (epilogue == Epilogue::kRelu) eltwise_in_place(y, count, dnnl::algorithm::eltwise_relu);
}

void apply_dequant_epilogue(float* y, const int32_t* acc, const float* row_scales, const int32_t* row_zero_points,
                            const float* col_scales, const int32_t* col_sums, const float* bias, int64_t m, int64_t n,
                            Epilogue epilogue) {
#pragma omp parallel for schedule(static) if (m * n > 65536)
  for (int64_t i = 0; i < m; ++i) {
    vector_ops().dequantize_row(y + i * n, acc + i * n, row_scales[i], row_zero_points[i], col_scales, col_sums, bias,
                                n, epilogue == Epilogue::kAccumulate);
  }
  apply_activation(y, m * n, epilogue);
}

}  // namespace squish
