#include "quant/quantize_model.h"

#include "core/error.h"
#include "model/common/int8_linear_weights.h"

namespace squish {

bool quantized_by_default(const Linear& linear, const QuantizeOptions& options) {
  const bool head = linear.role == LinearRole::kPooler || linear.role == LinearRole::kClassifier ||
                    linear.role == LinearRole::kLmHead;
  return !head || options.quantize_head;
}

std::vector<int64_t> linear_part_rows(const Linear& linear) {
  std::vector<int64_t> rows;
  for (const LinearPart& p : linear.parts) rows.push_back(p.rows);
  return rows;
}

Linear int8_linear(const Linear& linear, Int8Weights weights, const QuantizeOptions& options,
                   std::optional<ActivationRange> input_range) {
  std::optional<U8Params> input;
  if (input_range) input = u8_params(input_range->lo, input_range->hi, options.activation_qmax);
  Linear out = linear;
  out.weights = std::make_shared<Int8LinearWeights>(std::move(weights), linear.out_features(), linear.in_features(),
                                                    options.granularity, input, options.activation_qmax);
  return out;
}

Linear quantize_linear(const Linear& linear, const QuantizeOptions& options,
                       std::optional<ActivationRange> input_range) {
  const Tensor w = linear_dequantize(linear);
  return int8_linear(linear, quantize_weights_s8(w, options.granularity, linear_part_rows(linear)), options,
                     input_range);
}

void quantize_embeddings_if_asked(SequenceModel& model, const QuantizeOptions& options) {
  EmbeddingTable& table = model.mutable_word_embeddings();
  if (options.quantize_embeddings) table = EmbeddingTable::quantized(table.dequantize(), "int8-rows");
  // A tied head has no Linear of its own: it is quantized as the table's int8 rows.
  if (options.quantize_head && model.info().tied_lm_head) table.set_int8_head();
}

int quantize_dynamic(SequenceModel& model, const QuantizeOptions& options) {
  quantize_embeddings_if_asked(model, options);
  int quantized = 0;
  for (Linear* l : model.mutable_linears()) {
    if (!quantized_by_default(*l, options)) continue;
    *l = quantize_linear(*l, options);
    ++quantized;
  }
  return quantized;
}

int quantize_static(SequenceModel& model, const QuantizeOptions& options,
                    const std::map<std::string, ActivationRange>& input_ranges) {
  quantize_embeddings_if_asked(model, options);
  int quantized = 0;
  for (Linear* l : model.mutable_linears()) {
    if (!quantized_by_default(*l, options)) continue;
    const auto range = input_ranges.find(l->name);
    if (range == input_ranges.end())
      throw Error(ExitCode::kInternal, "static quantization: no calibrated range for " + l->name);
    *l = quantize_linear(*l, options, range->second);
    ++quantized;
  }
  return quantized;
}

}  // namespace squish
