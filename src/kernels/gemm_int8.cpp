#include "kernels/gemm_int8.h"

#include <algorithm>
#include <string>
#include <tuple>

#include "core/error.h"
#include "core/tensor.h"
#include "kernels/dnnl_context.h"
#include "kernels/gemm.h"
#include "kernels/int8_kernels.h"

namespace squish {
namespace int8 {
namespace isa_avx2 {
extern const Int8Kernels kInt8Kernels;
}
namespace isa_scalar {
extern const Int8Kernels kInt8Kernels;
}
}  // namespace int8

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

const int8::Int8Kernels& kernels_for(Isa isa) {
  return isa == Isa::kAvx2 ? int8::isa_avx2::kInt8Kernels : int8::isa_scalar::kInt8Kernels;
}

}  // namespace

struct PackedInt8Weights::Impl {
  Isa isa = Isa::kScalar;
  bool onednn = false;
  // oneDNN's blocked layout.
  memory::desc packed_desc;
  memory packed;
  mutable PrimitiveCache<int64_t> primitives{kPrimitivesPerWeight};
  // Otherwise pair tiles (int8_kernels.h).
  AlignedVector<int8_t> tiles;
  std::vector<int32_t> row_sums;

  int64_t k2() const { return int8::padded_k(k); }
  int64_t tile_count() const { return (n + int8::kTileColumns - 1) / int8::kTileColumns; }
  // Where W[row, col] sits in the pair tiles.
  int64_t tile_offset(int64_t row, int64_t col) const {
    return row / int8::kTileColumns * int8::kTileColumns * k2() + col / 2 * 32 + row % int8::kTileColumns * 2 + col % 2;
  }
  int64_t n = 0, k = 0;
};

bool int8_isa_available(Isa isa) {
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    // oneDNN runs under SQUISH_ISA's cap (dnnl_context.h): capped below AVX-512, it has no VNNI.
    case Isa::kAvx512: return active_isa() == Isa::kAvx512 && f.avx512_vnni;
    case Isa::kAvx2: return f.avx2;
    case Isa::kScalar: return true;
  }
  return false;
}

Isa int8_isa() {
  static const Isa isa = [] {
    if (int8_isa_available(Isa::kAvx512)) return Isa::kAvx512;
    return active_isa() >= Isa::kAvx2 ? Isa::kAvx2 : Isa::kScalar;
  }();
  return isa;
}

PackedInt8Weights PackedInt8Weights::pack(const int8_t* w, int64_t n, int64_t k, int activation_qmax, Isa isa) {
  if (!int8_isa_available(isa))
    throw UsageError("int8 GEMM: this CPU has no " + std::string(isa_name(isa)) + " kernel" +
                     (isa == Isa::kAvx512 ? " (it needs AVX-512 VNNI)" : ""));
  auto impl = std::make_shared<Impl>();
  if (activation_qmax < 1 || activation_qmax > kActivationQmax)
    throw UsageError("int8 GEMM: activation codes up to " + std::to_string(activation_qmax) + ", expected 1 to " +
                     std::to_string(kActivationQmax));
  impl->isa = isa;
  impl->onednn = isa == Isa::kAvx512 || (isa == Isa::kAvx2 && activation_qmax <= kVpmaddubswExactMax);
  impl->n = n;
  impl->k = k;
  if (impl->onednn) {
    const auto pd = int8_desc(kPackingM, n, k, memory::desc({k, n}, Dt::s8, Tag::any));
    impl->packed_desc = pd.weights_desc();
    memory plain(memory::desc({k, n}, Dt::s8, Tag::ba), cpu_engine(), const_cast<int8_t*>(w));
    impl->packed = memory(impl->packed_desc, cpu_engine());
    dnnl::reorder(plain, impl->packed).execute(thread_stream(), plain, impl->packed);
    thread_stream().wait();
  } else {
    impl->tiles.assign(static_cast<size_t>(impl->tile_count() * int8::kTileColumns * impl->k2()), 0);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < k; ++c) impl->tiles[static_cast<size_t>(impl->tile_offset(r, c))] = w[r * k + c];
  }
  impl->row_sums.assign(static_cast<size_t>(n), 0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c) impl->row_sums[static_cast<size_t>(r)] += w[r * k + c];
  PackedInt8Weights out;
  out.n_ = n;
  out.k_ = k;
  out.impl_ = std::move(impl);
  return out;
}

Isa PackedInt8Weights::isa() const { return impl_->isa; }
bool PackedInt8Weights::on_onednn() const { return impl_->onednn; }
const std::vector<int32_t>& PackedInt8Weights::row_sums() const { return impl_->row_sums; }

int64_t PackedInt8Weights::bytes() const {
  const size_t packed = impl_->onednn ? impl_->packed_desc.get_size() : impl_->tiles.size();
  return static_cast<int64_t>(packed + impl_->row_sums.size() * sizeof(int32_t));
}

void PackedInt8Weights::unpack(int8_t* w) const {
  if (!impl_->onednn) {
    for (int64_t r = 0; r < n_; ++r)
      for (int64_t c = 0; c < k_; ++c) w[r * k_ + c] = impl_->tiles[static_cast<size_t>(impl_->tile_offset(r, c))];
    return;
  }
  memory plain(memory::desc({k_, n_}, Dt::s8, Tag::ba), cpu_engine(), w);
  memory packed = impl_->packed;  // a handle; the reorder only reads it
  dnnl::reorder(packed, plain).execute(thread_stream(), packed, plain);
  thread_stream().wait();
}

namespace {

// The pair-tile back ends: x widened to int16 rows of K2 (zero-padded), then row panels × 16-column
// tiles, split across threads; never along a dot product, so every thread count gives the same
// bits. With an output stage (its pointers at row 0 and column 0), tiles store dequantized fp32
// instead of int32 (acc unused).
void gemm_pair_tiles(int32_t* acc, const uint8_t* x, const PackedInt8Weights::Impl& w, int64_t m,
                     const int8::OutputStage& stage = {}) {
  const int64_t k = w.k, k2 = w.k2(), n = w.n;
  thread_local AlignedVector<int16_t> widened;
  ensure_size(widened, m * k2);
  int16_t* xw = widened.data();
#pragma omp parallel for schedule(static) if (m * k > 65536)
  for (int64_t r = 0; r < m; ++r) {
    for (int64_t c = 0; c < k; ++c) xw[r * k2 + c] = x[r * k + c];
    if (k2 != k) xw[r * k2 + k] = 0;
  }
  const int8::Int8Kernels& kernels = kernels_for(w.isa);
  // Panels of equal height (the last shorter), so that splitting the items in contiguous halves
  // balances the threads even when there are only one or two panels.
  const int64_t granule = int8::kRowGranule;
  const int64_t max_rows = std::max(granule, int8::kPanelBytes / (2 * k2) / granule * granule);
  const int64_t panels = (m + max_rows - 1) / max_rows;
  const int64_t panel_rows = ((m + panels - 1) / panels + granule - 1) / granule * granule;
  const int64_t tiles = w.tile_count();
#pragma omp parallel for schedule(static) if (tiles * panels > 1)
  for (int64_t item = 0; item < tiles * panels; ++item) {
    const int64_t r0 = item / tiles * panel_rows, t = item % tiles, c0 = t * int8::kTileColumns;
    if (r0 >= m) continue;
    int8::OutputStage out = stage;
    if (stage.y) {
      out.y = stage.y + r0 * stage.ldy + c0;
      out.row_scales = stage.row_scales + r0;
      out.row_zero_points = stage.row_zero_points + r0;
      out.col_scales = stage.col_scales + c0;
      out.col_sums = stage.col_sums + c0;
      out.bias = stage.bias ? stage.bias + c0 : nullptr;
    }
    kernels.tile({acc ? acc + r0 * n + c0 : nullptr, n, w.tiles.data() + t * int8::kTileColumns * k2, xw + r0 * k2,
                  std::min(panel_rows, m - r0), std::min(int8::kTileColumns, n - c0), k2, out});
  }
}

}  // namespace

void gemm_u8s8s32(int32_t* acc, const uint8_t* x, const PackedInt8Weights& w, int64_t m) {
  if (m <= 0) return;
  const auto& impl = *w.impl_;
  if (!impl.onednn) {
    gemm_pair_tiles(acc, x, impl, m);
    return;
  }
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

void gemm_u8s8_dequant(float* y, const uint8_t* x, const PackedInt8Weights& w, const float* row_scales,
                       const int32_t* row_zero_points, const float* col_scales, const float* bias, int64_t m,
                       Epilogue epilogue, int32_t* acc_scratch) {
  if (m <= 0) return;
  const auto& impl = *w.impl_;
  if (impl.onednn) {
    if (!acc_scratch) throw UsageError("int8 GEMM: the oneDNN back end needs an int32 scratch of M x N");
    gemm_u8s8s32(acc_scratch, x, w, m);
    apply_dequant_epilogue(y, acc_scratch, row_scales, row_zero_points, col_scales, impl.row_sums.data(), bias, m,
                           w.n(), epilogue);
    return;
  }
  int8::OutputStage stage;
  stage.y = y;
  stage.ldy = w.n();
  stage.row_scales = row_scales;
  stage.row_zero_points = row_zero_points;
  stage.col_scales = col_scales;
  stage.col_sums = impl.row_sums.data();
  stage.bias = bias;
  stage.accumulate = epilogue == Epilogue::kAccumulate;
  gemm_pair_tiles(nullptr, x, impl, m, stage);
  apply_activation(y, m * w.n(), epilogue);
}

struct StaticInt8Gemm::Primitives {
  // Keyed by M, the epilogue and whether there is a bias (the scales are the object's own).
  PrimitiveCache<std::tuple<int64_t, Epilogue, bool>> cache{kPrimitivesPerWeight};
};

StaticInt8Gemm::StaticInt8Gemm(PackedInt8Weights w, float input_scale, int32_t input_zero_point,
                               const std::vector<float>& weight_scales)
    : weights_(std::move(w)),
      input_scale_(input_scale),
      input_zero_point_(input_zero_point),
      weight_scales_(weight_scales),
      primitives_(std::make_shared<Primitives>()) {
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
  if (!impl.onednn) {
    const std::vector<float> row_scales(static_cast<size_t>(m), input_scale_);
    const std::vector<int32_t> row_zero_points(static_cast<size_t>(m), input_zero_point_);
    gemm_u8s8_dequant(y, x, weights_, row_scales.data(), row_zero_points.data(), weight_scales_.data(), bias, m,
                      epilogue, nullptr);
    return;
  }
  const dnnl::matmul primitive = primitives_->cache.get({m, epilogue, bias != nullptr}, [&] {
    dnnl::post_ops ops;
    if (epilogue == Epilogue::kGelu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
    if (epilogue == Epilogue::kTanh) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_tanh, 0.0f, 0.0f);
    if (epilogue == Epilogue::kAccumulate) ops.append_sum(1.0f);
    if (epilogue == Epilogue::kRelu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    dnnl::primitive_attr attr;
    attr.set_output_scales(2, output_scales_);
    attr.set_post_ops(ops);
    const memory::desc src({m, k}, Dt::u8, Tag::ab), dst({m, n}, Dt::f32, Tag::ab), b({1, n}, Dt::f32, Tag::ab);
    try {
      return dnnl::matmul(
          dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, impl.packed_desc, b, dst), attr, cpu_engine()));
    } catch (const dnnl::error& err) {
      throw Error(ExitCode::kInternal, "oneDNN refused a static int8 GEMM of shape M=" + std::to_string(m) +
                                           " N=" + std::to_string(n) + " K=" + std::to_string(k) + ": " + err.what());
    }
  });
  // The bias in the accumulator's units, with the zero point's correction folded in (in double,
  // rounded once).
  std::vector<float> folded(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j)
    folded[static_cast<size_t>(j)] =
        static_cast<float>((bias ? static_cast<double>(bias[j]) / output_scales_[static_cast<size_t>(j)] : 0.0) -
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
