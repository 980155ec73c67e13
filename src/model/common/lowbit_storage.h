// How a squish container stores weights in the low-bit group and fp16 formats, for Linears and
// embedding tables alike (docs/formats.md): per HF module
//   int<b>-g<G>: ".weight_packed" U8 [rows, K·b/8]  codes, little-endian (column c from bit c·b of
//                                                   the row upwards: byte c·b/8, bit (c·b) mod 8; a
//                                                   3-bit code may continue into the next byte)
//                ".weight_scale"  F16 [rows, K/G]   group scales
//                ".weight_min"    F16 [rows, K/G]   group minimums    w = scale · code + min
//   f16:         ".weight"        F16 [rows, K]
// This is the file's layout, independent of the kernels' packed layout (kernels/gemm_lowbit.h),
// so either can change without the other.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/safetensors_writer.h"
#include "kernels/lowbit_scheme.h"
#include "model/common/linear.h"
#include "model/common/linear_formats.h"

namespace squish {

// A group format's name, "int4-g64": bits ∈ {2, 3, 4} and a group size that is a multiple of 16 (what the
// packed kernels take, kernels/gemm_lowbit.h).
struct GroupFormat {
  int bits;
  int64_t group_size;
};
std::string group_format_name(GroupFormat f);
// The format "int<b>-g<G>" names, or none when `name` is not one.
std::optional<GroupFormat> parse_group_format(std::string_view name);

// Bytes the container stores for [rows, k] weights in a group format / as fp16.
int64_t group_stored_bytes(GroupFormat f, int64_t rows, int64_t k);

// Rows [first, first + rows) of q as the container stores them (names are suffixes).
std::vector<TensorToWrite> stored_groups(const GroupQuantized& q, int64_t first, int64_t rows);
// The rows of every part (in order) read back into one GroupQuantized [Σ rows, k].
GroupQuantized read_groups(const std::vector<LinearPart>& parts, int64_t k, GroupFormat f,
                           const StoredTensorReader& reader);

std::vector<TensorToWrite> stored_f16(const std::vector<uint16_t>& halves, int64_t k, int64_t first, int64_t rows);
std::vector<uint16_t> read_f16(const std::vector<LinearPart>& parts, int64_t k, const StoredTensorReader& reader);

}  // namespace squish
