// The BERT forward pass as an explicit layer loop over kernel calls (post-LN, as in the original
// BERT: x = LN(x + Attention(x)); x = LN(x + FFN(x))), ending in the tanh pooler and classifier.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "model/bert/bert_weights.h"
#include "model/tap.h"

namespace squish {

// Right-padded token sequences. Padding positions hold any valid id; attention ignores them.
struct TokenBatch {
  int64_t batch = 0, tokens = 0;        // B, T
  std::vector<int32_t> input_ids;       // [B*T]
  std::vector<int32_t> token_type_ids;  // [B*T]
  std::vector<int32_t> lengths;         // [B], each in [1, T]
};

// Scratch of one forward. Buffers grow to the largest batch seen and are reused; never pinned to
// the first shape.
struct BertActivations {
  AlignedVector<float> hidden;        // [B*T, H]
  AlignedVector<float> qkv;           // [B*T, 3H]
  AlignedVector<float> context;       // [B*T, H]
  AlignedVector<float> intermediate;  // [B*T, FF]
  AlignedVector<float> attention;     // attention_workspace_floats(): one sequence's [NH, T, T] scores
  AlignedVector<float> cls;           // [B, H]
  AlignedVector<float> pooled;        // [B, H]
};

// Checks a batch against the model: ShapeError naming the first bad id, type id or length.
void validate_batch(const BertConfig& config, const TokenBatch& batch);

// logits: [B, C] row-major. The model must have a classification head (ConfigError otherwise).
// `tap` may be null; then no site costs more than a null check.
void bert_forward(const BertModel& model, const TokenBatch& batch, BertActivations& act, std::vector<float>& logits,
                  const Tap* tap = nullptr);

}  // namespace squish
