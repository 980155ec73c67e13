// Quantization passes over a whole model, through the Linear seam: each chosen Linear gets a new
// representation (model/common/int8_linear_weights.h), its identity and bias kept; the forward
// pass is untouched.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "kernels/int8_scheme.h"
#include "model/common/sequence_model.h"
#include "quant/observers.h"

namespace squish {

struct QuantizeOptions {
  WeightGranularity granularity = WeightGranularity::kPerChannel;  // --per_channel | --per_tensor
  bool quantize_head = false;  // also the pooler and classifier (--quantize_head)
  bool quantize_embeddings = false;  // word embeddings int8 per row, dequantized on gather (--quantize_embeddings)
  // The activations' top code: kActivationQmax, or kReducedActivationQmax with --reduce_range.
  int activation_qmax = kActivationQmax;
};

// The Linears a pass quantizes: every encoder Linear (Q/K/V, attention output, FFN in and out), and
// the pooler and classifier when asked.
bool quantized_by_default(const Linear& linear, const QuantizeOptions& options);

// The Linear with int8 weights (options' granularity and activation range): dynamic W8A32 without
// `input_range`, static W8A8 on that range's grid.
Linear quantize_linear(const Linear& linear, const QuantizeOptions& options,
                       std::optional<ActivationRange> input_range = std::nullopt);
// The same with the weights already quantized (GPTQ's codes on round-to-nearest's scales).
Linear int8_linear(const Linear& linear, Int8Weights weights, const QuantizeOptions& options,
                   std::optional<ActivationRange> input_range = std::nullopt);
// Each HF module's rows of a Linear (Q, K and V of a fused one): the tensors a per-tensor scale covers.
std::vector<int64_t> linear_part_rows(const Linear& linear);

// The word embeddings int8 per row, when options ask for it (both passes below call it); with
// quantize_head, a tied LM head then runs on those rows (EmbeddingTable::set_int8_head; ConfigError
// when the table is not int8-rows).
void quantize_embeddings_if_asked(SequenceModel& model, const QuantizeOptions& options);

// Dynamic W8A32 on the default Linears. Returns how many it quantized.
int quantize_dynamic(SequenceModel& model, const QuantizeOptions& options);
// Static W8A8 on the default Linears, each on its calibrated input range (InternalError when one
// has none). Returns how many it quantized.
int quantize_static(SequenceModel& model, const QuantizeOptions& options,
                    const std::map<std::string, ActivationRange>& input_ranges);

}  // namespace squish
