// PackedLowBitWeights and gemm_lowbit: packing into the tile layout of lowbit_kernels.h, the
// run-time choice of kernel, and the work split (row blocks × pairs of 16-column tiles).
#include "kernels/gemm_lowbit.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/dtype.h"
#include "core/error.h"
#include "core/tensor.h"
#include "kernels/lowbit_kernels.h"

namespace squish {
namespace lowbit {
namespace isa_avx512vnni { extern const LowBitKernels kLowBitKernels; }
namespace isa_avx2 { extern const LowBitKernels kLowBitKernels; }
namespace isa_scalar { extern const LowBitKernels kLowBitKernels; }
}  // namespace lowbit

struct PackedLowBitWeights::Impl {
  int bits = 4;         // the codes' width: 2, 3 or 4
  int layout_bits = 4;  // the kernel layout they sit in: 3-bit codes run in the 4-bit one (codes ≤ 7 fit a nibble)
  int64_t group_size = 0, n = 0, k = 0;
  AlignedVector<uint8_t> blocks;  // [tiles][groups][group block], lowbit_kernels.h

  int64_t groups() const { return k / group_size; }
  int64_t tiles() const { return (n + lowbit::kTileColumns - 1) / lowbit::kTileColumns; }
  int64_t block_bytes() const { return lowbit::group_block_bytes(layout_bits, group_size); }
  int64_t code_bytes() const { return lowbit::group_code_bytes(layout_bits, group_size); }
  uint8_t* block(int64_t tile, int64_t group) { return blocks.data() + (tile * groups() + group) * block_bytes(); }
  const uint8_t* block(int64_t tile, int64_t group) const {
    return blocks.data() + (tile * groups() + group) * block_bytes();
  }
  // Where weight k = i of a group sits for column c of a tile: byte offset and bit shift.
  std::pair<int64_t, int> code_position(int64_t c, int64_t i) const {
    const int quads_per_vector = 8 / layout_bits;
    const int64_t quad = i / 4;
    return {64 * (quad / quads_per_vector) + 4 * c + i % 4, static_cast<int>(quad % quads_per_vector) * layout_bits};
  }
};

namespace {

void check_groups(const GroupQuantized& q) {
  const std::string what = "low-bit packing (" + std::to_string(q.n) + "x" + std::to_string(q.k) + ", " +
                           std::to_string(q.bits) + " bits, group " + std::to_string(q.group_size) + "): ";
  if (!is_group_bits(q.bits)) throw ShapeError(what + "expected 2, 3 or 4 bits");
  if (q.n <= 0 || q.k <= 0) throw ShapeError(what + "expected a non-empty weight");
  if (q.group_size <= 0 || q.group_size % 16 != 0 || q.k % q.group_size != 0)
    throw ShapeError(what + "expected a group size that is a multiple of 16 and divides K");
  const size_t groups = static_cast<size_t>(q.n * q.groups_per_row());
  if (q.codes.size() != static_cast<size_t>(q.n * q.k) || q.scales.size() != groups || q.minimums.size() != groups)
    throw ShapeError(what + "expected " + std::to_string(q.n * q.k) + " codes and " + std::to_string(groups) +
                     " scales and minimums, got " + std::to_string(q.codes.size()) + ", " +
                     std::to_string(q.scales.size()) + " and " + std::to_string(q.minimums.size()));
  for (uint8_t c : q.codes)
    if (c > max_code(q.bits))
      throw FormatError(what + "code " + std::to_string(c) + " exceeds " + std::to_string(max_code(q.bits)));
  for (size_t i = 0; i < groups; ++i)
    for (float v : {q.scales[i], q.minimums[i]})
      if (half_to_float(float_to_half(v)) != v)
        throw FormatError(what + "group parameter " + std::to_string(v) + " of group " + std::to_string(i) +
                          " is not an fp16 value");
}

void store_half(uint8_t* p, float v) {
  const uint16_t h = float_to_half(v);
  std::memcpy(p, &h, sizeof h);
}

float load_half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof h);
  return half_to_float(h);
}

const lowbit::LowBitKernels& kernels_for(Isa isa) {
  return integer_kernels_for(isa, lowbit::isa_avx512vnni::kLowBitKernels, lowbit::isa_avx2::kLowBitKernels,
                             lowbit::isa_scalar::kLowBitKernels, "low-bit GEMM");
}

int64_t round_up_64(int64_t bytes) { return (bytes + 63) / 64 * 64; }

}  // namespace

PackedLowBitWeights PackedLowBitWeights::pack(const GroupQuantized& q) {
  check_groups(q);
  auto impl = std::make_shared<Impl>();
  impl->bits = q.bits;
  impl->layout_bits = q.bits == 3 ? 4 : q.bits;
  impl->group_size = q.group_size;
  impl->n = q.n;
  impl->k = q.k;
  impl->blocks.assign(static_cast<size_t>(impl->tiles() * impl->groups() * impl->block_bytes()), 0);
  const int64_t groups = impl->groups(), gs = q.group_size;
  for (int64_t t = 0; t < impl->tiles(); ++t)
    for (int64_t g = 0; g < groups; ++g) {
      uint8_t* block = impl->block(t, g);
      for (int64_t c = 0; c < lowbit::kTileColumns && t * lowbit::kTileColumns + c < q.n; ++c) {
        const int64_t row = t * lowbit::kTileColumns + c;
        for (int64_t i = 0; i < gs; ++i) {
          const auto [offset, shift] = impl->code_position(c, i);
          block[offset] = static_cast<uint8_t>(block[offset] | q.codes[static_cast<size_t>(row * q.k + g * gs + i)] << shift);
        }
        store_half(block + impl->code_bytes() + 2 * c, q.scales[static_cast<size_t>(row * groups + g)]);
        store_half(block + impl->code_bytes() + 32 + 2 * c, q.minimums[static_cast<size_t>(row * groups + g)]);
      }
    }
  PackedLowBitWeights w;
  w.impl_ = std::move(impl);
  return w;
}

int PackedLowBitWeights::bits() const { return impl_->bits; }
int64_t PackedLowBitWeights::group_size() const { return impl_->group_size; }
int64_t PackedLowBitWeights::n() const { return impl_->n; }
int64_t PackedLowBitWeights::k() const { return impl_->k; }
int64_t PackedLowBitWeights::bytes() const { return static_cast<int64_t>(impl_->blocks.size()); }

GroupQuantized PackedLowBitWeights::unpack() const {
  const Impl& p = *impl_;
  GroupQuantized q;
  q.bits = p.bits;
  q.group_size = p.group_size;
  q.n = p.n;
  q.k = p.k;
  q.codes.resize(static_cast<size_t>(p.n * p.k));
  q.scales.resize(static_cast<size_t>(p.n * p.groups()));
  q.minimums.resize(q.scales.size());
  for (int64_t row = 0; row < p.n; ++row) {
    const int64_t t = row / lowbit::kTileColumns, c = row % lowbit::kTileColumns;
    for (int64_t g = 0; g < p.groups(); ++g) {
      const uint8_t* block = p.block(t, g);
      for (int64_t i = 0; i < p.group_size; ++i) {
        const auto [offset, shift] = p.code_position(c, i);
        q.codes[static_cast<size_t>(row * p.k + g * p.group_size + i)] =
            static_cast<uint8_t>((block[offset] >> shift) & max_code(p.layout_bits));
      }
      q.scales[static_cast<size_t>(row * p.groups() + g)] = load_half(block + p.code_bytes() + 2 * c);
      q.minimums[static_cast<size_t>(row * p.groups() + g)] = load_half(block + p.code_bytes() + 32 + 2 * c);
    }
  }
  return q;
}

void PackedLowBitWeights::add_row(int64_t r, float* out) const {
  const Impl& p = *impl_;
  if (r < 0 || r >= p.n)
    throw ShapeError("low-bit add_row: row " + std::to_string(r) + " outside [0, " + std::to_string(p.n) + ")");
  const int64_t t = r / lowbit::kTileColumns, c = r % lowbit::kTileColumns;
  const int quads_per_vector = 8 / p.layout_bits, mask = max_code(p.layout_bits);
  for (int64_t g = 0; g < p.groups(); ++g) {
    const uint8_t* block = p.block(t, g);
    const float scale = load_half(block + p.code_bytes() + 2 * c);
    const float minimum = load_half(block + p.code_bytes() + 32 + 2 * c);
    float* o = out + g * p.group_size;
    // A column's four bytes per 64-byte vector hold quads_per_vector quads of its weights.
    for (int64_t v = 0; v < p.code_bytes() / 64; ++v) {
      const uint8_t* bytes = block + 64 * v + 4 * c;
      for (int s = 0; s < quads_per_vector; ++s)
        for (int i = 0; i < 4; ++i)
          o[(v * quads_per_vector + s) * 4 + i] +=
              scale * static_cast<float>((bytes[i] >> (s * p.layout_bits)) & mask) + minimum;
    }
  }
}

void throw_missing_integer_kernel(Isa isa, std::string_view kernel) {
  throw UsageError(std::string(kernel) + ": this CPU has no " + std::string(isa_name(isa)) + " kernel" +
                   (isa == Isa::kAvx512 ? " (it needs AVX-512 VNNI)" : ""));
}

bool lowbit_isa_available(Isa isa) {
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    case Isa::kAvx512: return f.avx512f && f.avx512bw && f.avx512vl && f.avx512_vnni;
    case Isa::kAvx2: return f.avx2 && f.fma;
    case Isa::kScalar: return true;
  }
  return false;
}

Isa lowbit_isa() {
  static const Isa isa = [] {
    if (active_isa() == Isa::kAvx512 && lowbit_isa_available(Isa::kAvx512)) return Isa::kAvx512;
    return active_isa() >= Isa::kAvx2 ? Isa::kAvx2 : Isa::kScalar;
  }();
  return isa;
}

int64_t gemm_lowbit_workspace_bytes(const PackedLowBitWeights& w, int64_t m) {
  const int64_t groups = w.k() / w.group_size();
  return round_up_64(m * w.k()) + round_up_64(m * groups * 4) + round_up_64(m * 4);
}

void gemm_lowbit(float* y, const float* x, const PackedLowBitWeights& w, const float* bias, int64_t m,
                 Epilogue epilogue, void* workspace) {
  gemm_lowbit_on(lowbit_isa(), y, x, w, bias, m, epilogue, workspace);
}

void gemm_lowbit_on(Isa isa, float* y, const float* x, const PackedLowBitWeights& w, const float* bias, int64_t m,
                    Epilogue epilogue, void* workspace) {
  const lowbit::LowBitKernels& kernels = kernels_for(isa);
  if (m <= 0) return;
  if (!workspace) throw UsageError("low-bit GEMM: no workspace (gemm_lowbit_workspace_bytes says how much)");
  const PackedLowBitWeights::Impl& p = *w.impl_;
  const int64_t n = p.n, k = p.k, groups = p.groups();
  auto* base = static_cast<uint8_t*>(workspace);
  const lowbit::QuantizedRows rows{reinterpret_cast<int8_t*>(base),
                                   reinterpret_cast<int32_t*>(base + round_up_64(m * k)),
                                   reinterpret_cast<float*>(base + round_up_64(m * k) + round_up_64(m * groups * 4))};
  kernels.quantize_rows(rows, x, m, k, p.group_size);
  const int64_t tiles = p.tiles(), row_blocks = (m + lowbit::kRowBlock - 1) / lowbit::kRowBlock;
  const int64_t items_per_row_block = (tiles + lowbit::kTilesPerItem - 1) / lowbit::kTilesPerItem;
  constexpr int64_t kItemColumns = lowbit::kTilesPerItem * lowbit::kTileColumns;
  // An OpenMP loop rather than parallel_for: nothing in it throws, and parallel_for's chunks of 64
  // would leave a one-row GEMM (48 tiles at N = 768) on a single thread.
#pragma omp parallel for schedule(static) if (items_per_row_block * row_blocks > 1)
  for (int64_t item = 0; item < items_per_row_block * row_blocks; ++item) {
    const int64_t r0 = item / items_per_row_block * lowbit::kRowBlock;
    const int64_t first_tile = item % items_per_row_block * lowbit::kTilesPerItem,
                  c0 = first_tile * lowbit::kTileColumns;
    const lowbit::TileArgs a{y + r0 * n + c0,
                             n,
                             p.block(first_tile, 0),
                             rows.codes + r0 * k,
                             rows.group_sums + r0 * groups,
                             rows.scales + r0,
                             bias ? bias + c0 : nullptr,
                             std::min(lowbit::kRowBlock, m - r0),
                             std::min(kItemColumns, n - c0),
                             k,
                             p.group_size,
                             p.layout_bits,
                             epilogue == Epilogue::kAccumulate,
                             groups * p.block_bytes()};
    kernels.tile(a);
  }
  apply_activation(y, m * n, epilogue);
}

}  // namespace squish
