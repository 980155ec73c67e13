// The unoptimised twins of the training kernels (matmul.h, training_ops.h, attention_training.h):
// plain loops, double accumulation, std::erf/std::exp. Same signatures and the same write or
// accumulate semantics as the fast kernels, so tests can run both on the same buffers.
// Not used on any fast path.
#pragma once

#include <cstdint>

#include "kernels/attention.h"
#include "kernels/matmul.h"

namespace squish::reference {

void matmul(float* c, const float* a, const float* b, int64_t m, int64_t n, int64_t k, Transpose ta, Transpose tb,
            Accumulate acc);
void bias_backward(float* db, const float* dy, int64_t rows, int64_t n);
void gelu_forward(float* y, const float* x, int64_t n);
void gelu_backward(float* dx, const float* dy, const float* x, int64_t n);
void layernorm_forward(float* y, float* mean, float* rstd, const float* x, const float* gamma, const float* beta,
                       int64_t rows, int64_t n, float eps);
void layernorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x, const float* mean,
                        const float* rstd, const float* gamma, int64_t rows, int64_t n);
float softmax_cross_entropy(float* d_logits, const float* logits, const int32_t* labels, int64_t batch, int64_t classes,
                            int64_t mean_over);
void embedding_backward(float* d_table, const float* dy, const int32_t* ids, int64_t rows, int64_t n);
void attention_train_forward(float* ctx, float* probs, const float* qkv, const int32_t* lengths, const uint8_t* keep,
                             float p, const AttentionShape& s);
// No workspace: the twin keeps its intermediates in doubles of its own.
void attention_backward(float* d_qkv, const float* d_ctx, const float* qkv, const float* probs,
                        const int32_t* lengths, const uint8_t* keep, float p, const AttentionShape& s);

}  // namespace squish::reference
