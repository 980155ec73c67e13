#include "kernels/attention.h"

#include <cmath>

#include "kernels/gemm.h"
#include "kernels/vector_ops.h"

namespace squish {

void attention(float* ctx, float* scores, const float* qkv, const int32_t* lengths, const AttentionShape& s,
               int64_t queries) {
  const int64_t T = s.tokens, NH = s.heads, HD = s.head_dim, H = s.hidden(), Q = queries;
  const int64_t token_stride = 3 * H;
  // Head views straight into the [B,T,3H] buffer: no transposes or copies.
  const StridedMatrix q{qkv, T * token_stride, HD, token_stride, 1};
  const StridedMatrix k_transposed{qkv + H, T * token_stride, HD, 1, token_stride};
  const int64_t score_strides[4] = {NH * Q * T, Q * T, T, 1};
  batched_gemm(scores, score_strides, q, k_transposed, s.batch, NH, Q, T, HD,
               1.0f / std::sqrt(static_cast<float>(HD)));

  const VectorOps& ops = vector_ops();
  for (int64_t b = 0; b < s.batch; ++b) ops.masked_softmax(scores + b * NH * Q * T, NH * Q, T, lengths[b], 1.0f);

  const StridedMatrix probs{scores, NH * Q * T, Q * T, T, 1};
  const StridedMatrix v{qkv + 2 * H, T * token_stride, HD, token_stride, 1};
  const int64_t ctx_strides[4] = {Q * H, HD, H, 1};
  batched_gemm(ctx, ctx_strides, probs, v, s.batch, NH, Q, HD, T, 1.0f);
}

}  // namespace squish
