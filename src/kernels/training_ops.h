// The row-wise kernels of BERT training, forward and backward side by side: bias and GELU,
// LayerNorm keeping its statistics, tanh, dropout, softmax cross-entropy and the embedding gather's
// backward. Every backward says whether it writes or accumulates (`+=`); gradients of parameters
// accumulate (a step may sum several micro-batches), gradients of activations are written.
// Parallel over rows or columns, never along a reduction, so results are identical at any thread
// count. Scalar twins: kernels/reference/training_reference.h.
// Not here: the matrix products (matmul.h) and attention (attention_training.h).
#pragma once

#include <cstdint>

namespace squish {

// ---- bias and erf GELU ----
// y[r,:] += b for `rows` rows of `n`.
void add_bias(float* y, const float* b, int64_t rows, int64_t n);
// db[j] += Σ_r dy[r,j]   (accumulates)
void bias_backward(float* db, const float* dy, int64_t rows, int64_t n);
// y[i] = gelu_erf(x[i]) = x/2 · (1 + erf(x/√2)); y may not alias x (the backward needs x).
void gelu_forward(float* y, const float* x, int64_t n);
// dx[i] = dy[i] · gelu'(x[i]), gelu'(x) = Φ(x) + x·φ(x)   (writes; dx may alias dy)
void gelu_backward(float* dx, const float* dy, const float* x, int64_t n);
// dx[i] = dy[i] · (1 − y[i]²) for y = tanh(x)   (writes; dx may alias dy)
void tanh_backward(float* dx, const float* dy, const float* y, int64_t n);

// ---- LayerNorm (eps as the config states it: 1e-12 for BERT) ----
// y = (x − mean) · rstd · gamma + beta per row, mean[r] and rstd[r] = 1/sqrt(var + eps) kept for
// the backward. y may not alias x.
void layernorm_forward(float* y, float* mean, float* rstd, const float* x, const float* gamma, const float* beta,
                       int64_t rows, int64_t n, float eps);
// dx (written; may alias dy), dgamma and dbeta (accumulated), from the forward's x, mean, rstd.
void layernorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x, const float* mean,
                        const float* rstd, const float* gamma, int64_t rows, int64_t n);

// ---- dropout (inverted: kept values scaled by 1/(1−p)) ----
// keep[i] = 1 with probability 1−p, from random_uniform(stream, i) >= p (core/random.h), so the
// mask is a pure function of (stream, i). p in [0, 1).
void dropout_mask(uint8_t* keep, int64_t n, float p, uint64_t stream);
// The mask of a [rows, cols] activation whose element (r, c) draws value number row_keys[r] + c of the
// stream: rows keyed by what they hold (an example's place in the step's batch, a token position)
// rather than where they sit, so a batch split across ranks draws the masks one process draws.
void dropout_mask_rows(uint8_t* keep, int64_t rows, int64_t cols, float p, uint64_t stream, const uint64_t* row_keys);
// y[i] = keep[i] ? x[i] / (1−p) : 0. Also the backward (dx from dy, same mask). y may alias x.
void dropout_apply(float* y, const float* x, const uint8_t* keep, int64_t n, float p);

// ---- loss ----
// Cross-entropy of softmax(logits[B,C]) against labels[B] in [0, C), summed and divided by
// `mean_over` (B for this batch's mean; a rank's share of a distributed step passes the step's whole
// batch, so each sequence's gradient is the one a single process computes), and its gradient
// d_logits[b,c] = (softmax[b,c] − [c == label_b]) / mean_over (written). Returns the loss.
float softmax_cross_entropy(float* d_logits, const float* logits, const int32_t* labels, int64_t batch, int64_t classes,
                            int64_t mean_over);

// ---- embeddings ----
// d_table[ids[r], :] += dy[r, :] for every row r < rows (accumulates; sparse: only the rows named
// by ids are touched). Rows with the same id are summed in row order, whatever the thread count.
void embedding_backward(float* d_table, const float* dy, const int32_t* ids, int64_t rows, int64_t n);

}  // namespace squish
