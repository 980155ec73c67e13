#include "quant/quantize_model.h"

#include "quant/int8_linear.h"

namespace squish {

int quantize_dynamic(SequenceModel& model, const DynamicQuantOptions& options) {
  int quantized = 0;
  for (Linear* l : model.mutable_linears()) {
    const bool head = l->role == LinearRole::kPooler || l->role == LinearRole::kClassifier;
    if (head && !options.quantize_head) continue;
    *l = quantize_linear_dynamic(*l, options.per_channel);
    ++quantized;
  }
  return quantized;
}

}  // namespace squish
