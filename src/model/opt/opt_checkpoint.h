// From checkpoints to an OptModel and back. One name table (HF module, its parameter group, whether
// it has a bias) is the only place the tensor names live: loading walks it forward (accepting the
// names with or without "model.", as facebook's checkpoints store an OPTModel's), export and the
// parameter count walk the same rows.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "io/safetensors_writer.h"
#include "model/common/linear_formats.h"
#include "model/common/parameter_groups.h"
#include "model/opt/opt_weights.h"

namespace squish {

// Binds HF-named tensors; ShapeError/FormatError naming `file` and the tensor. `unused`, when
// given, receives the stored names the architecture did not take (a stored lm_head.weight of a
// tied model among them: transformers ignores it too). With `plan` (a squish container), each Linear
// and the token table are read in their planned formats.
OptModel opt_from_tensors(const OptConfig& config, const TensorMap& tensors, const std::string& file,
                          std::vector<std::string>* unused = nullptr, const ContainerPlan* plan = nullptr);
// Normal(0, 0.02) weights, zero biases, LayerNorms 1/0 (HF's init); deterministic for a seed.
OptModel random_opt(const OptConfig& config, uint64_t seed);

// Parameter counts by group as transformers counts them (the tied head once), from the config alone.
ParameterGroups opt_parameter_groups(const OptConfig& config);

// Every tensor under its HF name, in the layout transformers loads, as F32 or F16; Linears dequantized.
std::vector<TensorToWrite> opt_checkpoint_tensors(const OptModel& model, DType dtype);
// The same names for squish's container: each Linear module in its own format's tensors, the rest
// lossless (docs/formats.md).
std::vector<TensorToWrite> opt_container_tensors(const OptModel& model);

}  // namespace squish
