// PackedF16Weights and gemm_f16 (declared in gemm_lowbit.h): fp16 weights in panels of 32 columns,
// the kernel of the running ISA over (panel, block of rows) items.
#include <algorithm>
#include <cstring>
#include <string>

#include "core/error.h"
#include "core/tensor.h"
#include "kernels/gemm_lowbit.h"
#include "kernels/lowbit_kernels.h"

namespace squish {
namespace lowbit {
namespace isa_avx512 { extern const F16Kernels kF16Kernels; }
namespace isa_avx2 { extern const F16Kernels kF16Kernels; }
namespace isa_scalar { extern const F16Kernels kF16Kernels; }
}  // namespace lowbit

struct PackedF16Weights::Impl {
  int64_t n = 0, k = 0;
  AlignedVector<uint16_t> panels;  // [ceil(n / 32), k, 32] (kernels/lowbit_kernels.h)
};

namespace {

using lowbit::kF16PanelColumns;
using lowbit::kF16PanelsPerItem;

// A work item: up to 48 rows (a multiple of every ISA's register block; of K = 3072, 576 KiB) and
// kF16PanelsPerItem panels; a panel of that K (192 KiB) stays in L2 while its rows stream past the
// register block.
constexpr int64_t kF16RowBlock = 48;

const lowbit::F16Kernels& f16_kernels_for(Isa isa) {
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    case Isa::kAvx512:
      if (f.avx512f && f.avx512bw && f.avx512vl) return lowbit::isa_avx512::kF16Kernels;
      break;
    case Isa::kAvx2:
      if (f.avx2 && f.fma) return lowbit::isa_avx2::kF16Kernels;
      break;
    case Isa::kScalar: return lowbit::isa_scalar::kF16Kernels;
  }
  throw UsageError("fp16 GEMM: this CPU has no " + std::string(isa_name(isa)) + " kernel");
}

int64_t panel_count(int64_t n) { return (n + kF16PanelColumns - 1) / kF16PanelColumns; }

}  // namespace

PackedF16Weights PackedF16Weights::pack(const uint16_t* halves, int64_t n, int64_t k) {
  if (n <= 0 || k <= 0)
    throw ShapeError("fp16 packing: " + std::to_string(n) + "x" + std::to_string(k) + " (expected a non-empty weight)");
  auto impl = std::make_shared<Impl>();
  impl->n = n;
  impl->k = k;
  impl->panels.assign(static_cast<size_t>(panel_count(n) * k * kF16PanelColumns), 0);  // +0.0 pads
  for (int64_t c = 0; c < n; ++c)
    for (int64_t p = 0; p < k; ++p)
      impl->panels[static_cast<size_t>((c / kF16PanelColumns * k + p) * kF16PanelColumns + c % kF16PanelColumns)] =
          halves[c * k + p];
  PackedF16Weights w;
  w.impl_ = std::move(impl);
  return w;
}

int64_t PackedF16Weights::n() const { return impl_->n; }
int64_t PackedF16Weights::k() const { return impl_->k; }
int64_t PackedF16Weights::bytes() const { return impl_->n * impl_->k * static_cast<int64_t>(sizeof(uint16_t)); }

std::vector<uint16_t> PackedF16Weights::unpack() const {
  const int64_t n = impl_->n, k = impl_->k;
  std::vector<uint16_t> halves(static_cast<size_t>(n * k));
  for (int64_t c = 0; c < n; ++c)
    for (int64_t p = 0; p < k; ++p)
      halves[static_cast<size_t>(c * k + p)] =
          impl_->panels[static_cast<size_t>((c / kF16PanelColumns * k + p) * kF16PanelColumns + c % kF16PanelColumns)];
  return halves;
}

void add_f16_row(float* out, const uint16_t* halves, int64_t k) {
  static const lowbit::F16Kernels& kernels = f16_kernels_for(active_isa());
  kernels.add_row(out, halves, k);
}

int64_t gemm_f16_workspace_bytes(const PackedF16Weights&, int64_t) { return 0; }

void gemm_f16(float* y, const float* x, const PackedF16Weights& w, const float* bias, int64_t m, Epilogue epilogue,
              void* workspace) {
  gemm_f16_on(active_isa(), y, x, w, bias, m, epilogue, workspace);
}

void gemm_f16_on(Isa isa, float* y, const float* x, const PackedF16Weights& w, const float* bias, int64_t m,
                 Epilogue epilogue, void*) {
  const lowbit::F16Kernels& kernels = f16_kernels_for(isa);
  if (m <= 0) return;
  const int64_t n = w.impl_->n, k = w.impl_->k;
  const uint16_t* panels = w.impl_->panels.data();
  constexpr int64_t kItemColumns = kF16PanelsPerItem * kF16PanelColumns;
  const int64_t column_blocks = (n + kItemColumns - 1) / kItemColumns;
  const int64_t row_blocks = (m + kF16RowBlock - 1) / kF16RowBlock;
  // Not parallel_for: nothing here throws, and its chunks of 64 would serialise small GEMMs. Items
  // walk the row blocks of their panels in turn, so a thread's panels stay in its cache.
#pragma omp parallel for schedule(static) if (column_blocks * row_blocks > 1)
  for (int64_t item = 0; item < column_blocks * row_blocks; ++item) {
    const int64_t c0 = item / row_blocks * kItemColumns, r0 = item % row_blocks * kF16RowBlock;
    kernels.panels(y + r0 * n + c0, n, x + r0 * k, panels + c0 * k, bias ? bias + c0 : nullptr,
                   std::min(kF16RowBlock, m - r0), std::min(kItemColumns, n - c0), k,
                   epilogue == Epilogue::kAccumulate);
  }
  apply_activation(y, m * n, epilogue);
}

}  // namespace squish
