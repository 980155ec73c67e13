#include "kernels/gemm.h"

#include <omp.h>

#include <array>
#include <tuple>

#include <oneapi/dnnl/dnnl.hpp>

#include "core/error.h"
#include "kernels/dnnl_context.h"

namespace squish {
namespace {

using dnnl::memory;
using Dt = memory::data_type;
using Tag = memory::format_tag;

dnnl::primitive_attr epilogue_attr(Epilogue e) {
  dnnl::post_ops ops;
  switch (e) {
    case Epilogue::kNone: break;
    case Epilogue::kGelu: ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f); break;
    case Epilogue::kTanh: ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_tanh, 0.0f, 0.0f); break;
    case Epilogue::kAccumulate: ops.append_sum(1.0f); break;
    case Epilogue::kRelu: ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f); break;
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  return attr;
}

dnnl::matmul::primitive_desc linear_desc(int64_t m, int64_t n, int64_t k, const memory::desc& weights,
                                         bool has_bias, Epilogue e) {
  const memory::desc src({m, k}, Dt::f32, Tag::ab);
  const memory::desc dst({m, n}, Dt::f32, Tag::ab);
  if (has_bias) {
    const memory::desc bias({1, n}, Dt::f32, Tag::ab);
    return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights, bias, dst), epilogue_attr(e), cpu_engine());
  }
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights, dst), epilogue_attr(e), cpu_engine());
}

// The layout is chosen for a typical encoder M; oneDNN picks the same blocking for every M (brgemm:
// checked for M = 1..4096 at BERT shapes; the AVX2 gemm path uses a plain layout), and gemm_packed
// reports an internal error should a shape ever refuse it rather than silently repacking.
constexpr int64_t kPackingM = 128;

}  // namespace

struct PackedWeights::Impl {
  memory::desc packed_desc;
  memory packed;
  mutable PrimitiveCache<std::tuple<int64_t, bool, Epilogue>> primitives{kPrimitivesPerWeight};

  dnnl::matmul primitive(int64_t m, int64_t n, int64_t k, bool has_bias, Epilogue e) const {
    return primitives.get({m, has_bias, e}, [&] {
      try {
        return dnnl::matmul(linear_desc(m, n, k, packed_desc, has_bias, e));
      } catch (const dnnl::error& err) {
        throw Error(ExitCode::kInternal, "oneDNN refused a GEMM of shape M=" + std::to_string(m) + " N=" +
                                             std::to_string(n) + " K=" + std::to_string(k) +
                                             " with packed weights: " + err.what());
      }
    });
  }
};

PackedWeights PackedWeights::pack(const float* w, int64_t n, int64_t k) {
  auto impl = std::make_shared<Impl>();
  const memory::desc any({k, n}, Dt::f32, Tag::any);
  const auto pd = linear_desc(kPackingM, n, k, any, true, Epilogue::kNone);
  impl->packed_desc = pd.weights_desc();
  // W is [N,K] row-major, i.e. the [K,N] matrix oneDNN wants in column-major ("ba") order.
  memory plain(memory::desc({k, n}, Dt::f32, Tag::ba), cpu_engine(), const_cast<float*>(w));
  impl->packed = memory(impl->packed_desc, cpu_engine());
  dnnl::reorder(plain, impl->packed).execute(thread_stream(), plain, impl->packed);
  thread_stream().wait();
  PackedWeights out;
  out.n_ = n;
  out.k_ = k;
  out.impl_ = std::move(impl);
  return out;
}

int64_t PackedWeights::bytes() const { return static_cast<int64_t>(impl_->packed_desc.get_size()); }

void PackedWeights::unpack(float* w) const {
  memory plain(memory::desc({k_, n_}, Dt::f32, Tag::ba), cpu_engine(), w);
  memory packed = impl_->packed;  // a handle; the reorder only reads it
  dnnl::reorder(packed, plain).execute(thread_stream(), packed, plain);
  thread_stream().wait();
}

int PackedWeights::cached_primitives() const { return static_cast<int>(impl_->primitives.size()); }

namespace {

// The calling thread's OpenMP thread count set to 1 for a scope, when asked. oneDNN's GEMM driver (the
// AVX2 path) computes a one-row product as a matrix-vector product whose threads split the dot
// products, so its bits would follow the thread count (and a distributed run's ranks); one row reads
// the weights once and is memory-bound, so a single thread costs little.
class SingleThreadedIf {
 public:
  explicit SingleThreadedIf(bool on) : before_(on ? omp_get_max_threads() : 0) {
    if (on) omp_set_num_threads(1);
  }
  ~SingleThreadedIf() {
    if (before_ > 0) omp_set_num_threads(before_);
  }
  SingleThreadedIf(const SingleThreadedIf&) = delete;
  SingleThreadedIf& operator=(const SingleThreadedIf&) = delete;

 private:
  int before_;
};

}  // namespace

void gemm_packed(float* y, const float* x, const PackedWeights& w, const float* bias, int64_t m, Epilogue epilogue) {
  if (m <= 0) return;
  const SingleThreadedIf one_row(m == 1);
  const auto& impl = *w.impl_;
  const dnnl::matmul primitive = impl.primitive(m, w.n(), w.k(), bias != nullptr, epilogue);
  auto& engine = cpu_engine();
  memory src({{m, w.k()}, Dt::f32, Tag::ab}, engine, const_cast<float*>(x));
  memory dst({{m, w.n()}, Dt::f32, Tag::ab}, engine, y);
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, impl.packed}, {DNNL_ARG_DST, dst}};
  if (bias) args[DNNL_ARG_BIAS] = memory({{1, w.n()}, Dt::f32, Tag::ab}, engine, const_cast<float*>(bias));
  primitive.execute(thread_stream(), args);
  thread_stream().wait();
}

void batched_gemm(float* c, const int64_t c_strides[3], const StridedMatrix& a, const StridedMatrix& b, int64_t batch,
                  int64_t m, int64_t n, int64_t k) {
  // Creating a primitive descriptor costs tens of microseconds even when oneDNN's own cache hits,
  // as much as a whole 12x128x128 product, so primitives are kept by shape and strides here. A
  // batch uses four shapes (QK^T and PV, for whole layers and [CLS]-only ones) in every layer.
  using Key = std::array<int64_t, 13>;
  static PrimitiveCache<Key> primitives(16);
  const Key key = {batch, m, n, k, a.stride_batch, a.stride_row, a.stride_col, b.stride_batch, b.stride_row,
                   b.stride_col, c_strides[0], c_strides[1], c_strides[2]};
  const memory::desc a_md({batch, m, k}, Dt::f32, memory::dims{a.stride_batch, a.stride_row, a.stride_col});
  const memory::desc b_md({batch, k, n}, Dt::f32, memory::dims{b.stride_batch, b.stride_row, b.stride_col});
  const memory::desc c_md({batch, m, n}, Dt::f32, memory::dims{c_strides[0], c_strides[1], c_strides[2]});
  const dnnl::matmul primitive = primitives.get(
      key, [&] { return dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, c_md), cpu_engine())); });
  auto& engine = cpu_engine();
  memory am(a_md, engine, const_cast<float*>(a.data));
  memory bm(b_md, engine, const_cast<float*>(b.data));
  memory cm(c_md, engine, c);
  primitive.execute(thread_stream(), {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
  thread_stream().wait();
}

}  // namespace squish
