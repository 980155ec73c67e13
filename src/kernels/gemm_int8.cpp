#include "kernels/gemm_int8.h"

#include <string>
#include <tuple>

#include "core/error.h"
#include "kernels/cpu_features.h"
#include "kernels/dnnl_context.h"
#include "kernels/gemm.h"

namespace squish {
namespace {

using dnnl::memory;
using Dt = memory::data_type;
using Tag = memory::format_tag;

dnnl::matmul::primitive_desc int8_desc(int64_t m, int64_t n, int64_t k, const memory::desc& weights) {
  const memory::desc src({m, k}, Dt::u8, Tag::ab);
  const memory::desc dst({m, n}, Dt::s32, Tag::ab);
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights, dst), cpu_engine());
}

constexpr int64_t kPackingM = 128;  // as for fp32: oneDNN's int8 blocking does not depend on M

}  // namespace

struct PackedInt8Weights::Impl {
  memory::desc packed_desc;
  memory packed;
  std::vector<int32_t> row_sums;
  mutable PrimitiveCache<int64_t> primitives{kPrimitivesPerWeight};
};

int int8_activation_max() {
  const CpuFeatures& f = cpu_features();
  return active_isa() == Isa::kAvx512 && f.avx512_vnni ? 255 : 128;
}

PackedInt8Weights PackedInt8Weights::pack(const int8_t* w, int64_t n, int64_t k) {
  auto impl = std::make_shared<Impl>();
  const auto pd = int8_desc(kPackingM, n, k, memory::desc({k, n}, Dt::s8, Tag::any));
  impl->packed_desc = pd.weights_desc();
  memory plain(memory::desc({k, n}, Dt::s8, Tag::ba), cpu_engine(), const_cast<int8_t*>(w));
  impl->packed = memory(impl->packed_desc, cpu_engine());
  dnnl::reorder(plain, impl->packed).execute(thread_stream(), plain, impl->packed);
  thread_stream().wait();
  impl->row_sums.assign(static_cast<size_t>(n), 0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c) impl->row_sums[static_cast<size_t>(r)] += w[r * k + c];
  PackedInt8Weights out;
  out.n_ = n;
  out.k_ = k;
  out.impl_ = std::move(impl);
  return out;
}

const std::vector<int32_t>& PackedInt8Weights::row_sums() const { return impl_->row_sums; }

int64_t PackedInt8Weights::bytes() const {
  return static_cast<int64_t>(impl_->packed_desc.get_size() + impl_->row_sums.size() * sizeof(int32_t));
}

void PackedInt8Weights::unpack(int8_t* w) const {
  memory plain(memory::desc({k_, n_}, Dt::s8, Tag::ba), cpu_engine(), w);
  memory packed = impl_->packed;  // a handle; the reorder only reads it
  dnnl::reorder(packed, plain).execute(thread_stream(), packed, plain);
  thread_stream().wait();
}

void gemm_u8s8s32(int32_t* acc, const uint8_t* x, const PackedInt8Weights& w, int64_t m) {
  if (m <= 0) return;
  const auto& impl = *w.impl_;
  const dnnl::matmul primitive = impl.primitives.get(m, [&] {
    try {
      return dnnl::matmul(int8_desc(m, w.n(), w.k(), impl.packed_desc));
    } catch (const dnnl::error& err) {
      throw Error(ExitCode::kInternal, "oneDNN refused an int8 GEMM of shape M=" + std::to_string(m) + " N=" +
                                           std::to_string(w.n()) + " K=" + std::to_string(w.k()) + ": " + err.what());
    }
  });
  auto& engine = cpu_engine();
  memory src({{m, w.k()}, Dt::u8, Tag::ab}, engine, const_cast<uint8_t*>(x));
  memory dst({{m, w.n()}, Dt::s32, Tag::ab}, engine, acc);
  primitive.execute(thread_stream(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, impl.packed}, {DNNL_ARG_DST, dst}});
  thread_stream().wait();
}

struct StaticInt8Gemm::Primitives {
  // Keyed by M, the epilogue and whether there is a bias (the scales are the object's own).
  PrimitiveCache<std::tuple<int64_t, Epilogue, bool>> cache{kPrimitivesPerWeight};
};

StaticInt8Gemm::StaticInt8Gemm(PackedInt8Weights w, float input_scale, int32_t input_zero_point,
                               const std::vector<float>& weight_scales)
    : weights_(std::move(w)), primitives_(std::make_shared<Primitives>()) {
  const std::vector<int32_t>& sums = weights_.row_sums();
  output_scales_.resize(weight_scales.size());
  zero_correction_.resize(weight_scales.size());
  for (size_t n = 0; n < weight_scales.size(); ++n) {
    output_scales_[n] = input_scale * weight_scales[n];
    zero_correction_[n] = static_cast<double>(static_cast<int64_t>(input_zero_point) * sums[n]);
  }
}

void StaticInt8Gemm::run(float* y, const uint8_t* x, const float* bias, int64_t m, Epilogue epilogue) const {
  if (m <= 0) return;
  const int64_t n = weights_.n(), k = weights_.k();
  const auto& impl = *weights_.impl_;
  const dnnl::matmul primitive = primitives_->cache.get({m, epilogue, bias != nullptr}, [&] {
    dnnl::post_ops ops;
    if (epilogue == Epilogue::kGelu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
    if (epilogue == Epilogue::kTanh) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_tanh, 0.0f, 0.0f);
    if (epilogue == Epilogue::kAccumulate) ops.append_sum(1.0f);
    dnnl::primitive_attr attr;
    attr.set_output_scales(2, output_scales_);
    attr.set_post_ops(ops);
    const memory::desc src({m, k}, Dt::u8, Tag::ab), dst({m, n}, Dt::f32, Tag::ab), b({1, n}, Dt::f32, Tag::ab);
    try {
      return dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, impl.packed_desc, b, dst), attr, cpu_engine()));
    } catch (const dnnl::error& err) {
      throw Error(ExitCode::kInternal, "oneDNN refused a static int8 GEMM of shape M=" + std::to_string(m) + " N=" +
                                           std::to_string(n) + " K=" + std::to_string(k) + ": " + err.what());
    }
  });
  // The bias in the accumulator's units, with the zero point's correction folded in (in double, rounded once).
  std::vector<float> folded(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j)
    folded[static_cast<size_t>(j)] = static_cast<float>(
        (bias ? static_cast<double>(bias[j]) / output_scales_[static_cast<size_t>(j)] : 0.0) -
        zero_correction_[static_cast<size_t>(j)]);
  auto& engine = cpu_engine();
  memory src({{m, k}, Dt::u8, Tag::ab}, engine, const_cast<uint8_t*>(x));
  memory dst({{m, n}, Dt::f32, Tag::ab}, engine, y);
  memory b({{1, n}, Dt::f32, Tag::ab}, engine, folded.data());
  primitive.execute(thread_stream(),
                    {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, impl.packed}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, dst}});
  thread_stream().wait();
}

}  // namespace squish
