// Quantization passes over a whole model, through the Linear seam: each chosen Linear gets a new
// representation, its identity kept; the forward pass is untouched.
#pragma once

#include "model/common/sequence_model.h"

namespace squish {

struct DynamicQuantOptions {
  bool per_channel = true;     // weight scales per output channel (--per_channel), else per tensor
  bool quantize_head = false;  // also the pooler and classifier (--quantize_head)
};

// Dynamic W8A32 on every encoder Linear (Q/K/V, attention output, FFN in and out), and the head if
// asked. Returns how many Linears it quantized.
int quantize_dynamic(SequenceModel& model, const DynamicQuantOptions& options);

}  // namespace squish
