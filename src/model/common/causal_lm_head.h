// A causal LM's output head as log-probabilities of given next tokens: the head's logits over the
// whole vocabulary are needed for each asked row's normaliser, but only for the rows asked (a
// multiple-choice item's continuation, not its context), a chunk of rows at a time, so [rows, V]
// logits never exist at once (SmolLM2 at 4 × 128 tokens would need 100 MB).
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "model/common/linear.h"
#include "model/common/sequence_model.h"
#include "model/common/token_batch.h"

namespace squish {

// ShapeError naming the first target outside the batch (its sequence, or a position past its length)
// or the vocabulary; a decoder checks before its forward, not after.
void check_logprob_targets(const TokenBatch& batch, const std::vector<LogprobTarget>& targets, int64_t vocab);
// The rows of hidden [B*T, H] the targets read, into rows [n, H], and the targets' tokens.
void gather_target_rows(const float* hidden, int64_t hidden_size, const TokenBatch& batch,
                        const std::vector<LogprobTarget>& targets, AlignedVector<float>& rows,
                        std::vector<int32_t>& tokens);

struct CausalLmHeadScratch {
  AlignedVector<float> logits;  // [chunk, V]
  LinearWorkspace linear;
};

// out[i] = log_softmax(rows[i] · Wᵀ)[targets[i]] for i < n, rows [n, H] (final-normed hidden
// states). `head` is the vocabulary projection [V, H]: an untied head's Linear weights, or a tied
// one's embedding table (EmbeddingTable::projection()).
void causal_lm_logprobs(const LinearWeights& head, const float* rows, int64_t n, const int32_t* targets, double* out,
                        CausalLmHeadScratch& scratch);

}  // namespace squish
