// Plain-layout fp32 matrix products for training, where weights change every step and packing them
// (gemm.h) would cost more than it saves: C[M,N] (+)= op(A) · op(B), row-major, through oneDNN's
// sgemm (its JIT AVX-512/AVX2 kernels; ~85% of the fp32 FMA peak on MiniLM/BERT-base shapes).
// Deterministic for a given thread count. The scalar twin is reference::matmul.
#pragma once

#include <cstdint>

namespace squish {

enum class Transpose { kNo, kYes };
enum class Accumulate { kNo, kYes };  // C = product, or C += product

// op(A) is [M,K]: A is [M,K] (kNo) or [K,M] (kYes); op(B) is [K,N]: B is [K,N] or [N,K].
// Leading dimensions are the stored row lengths (contiguous matrices).
//   forward   y[M,N]  = x[M,K] · W[N,K]^T      matmul(y, x, W, M, N, K, kNo, kYes, kNo)
//   backward dx[M,K]  = dy[M,N] · W[N,K]       matmul(dx, dy, W, M, K, N, kNo, kNo, kNo)
//            dW[N,K] += dy[M,N]^T · x[M,K]     matmul(dW, dy, x, N, K, M, kYes, kNo, kYes)
void matmul(float* c, const float* a, const float* b, int64_t m, int64_t n, int64_t k, Transpose ta, Transpose tb,
            Accumulate acc);
// The same on sub-matrices of larger row-major buffers: lda, ldb, ldc are the stored row lengths of
// A, B and C as given (before op), e.g. attention's per-head views into [T, 3H] rows.
void matmul_strided(float* c, int64_t ldc, const float* a, int64_t lda, const float* b, int64_t ldb, int64_t m,
                    int64_t n, int64_t k, Transpose ta, Transpose tb, Accumulate acc);

}  // namespace squish
