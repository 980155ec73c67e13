#include "kernels/attention.h"

#include <cmath>

#include "kernels/gemm.h"
#include "kernels/vector_ops.h"

namespace squish {

// One sequence at a time, so its NH*Q*T scores stay in cache between the three passes over them
// (for B=8, T=512 a whole batch's scores would be 100 MB per layer). The heads are strided views
// straight into the [T, 3H] rows: measured against copying them into head-major blocks first, the
// copies cost more than the faster GEMM kernel they unlock.
int64_t attention_workspace_floats(const AttentionShape& s, int64_t queries) { return s.heads * queries * s.tokens; }

void attention(float* ctx, float* workspace, const float* qkv, const int32_t* lengths, const AttentionShape& s,
               int64_t queries) {
  const int64_t T = s.tokens, NH = s.heads, HD = s.head_dim, H = s.hidden(), Q = queries;
  const int64_t token_stride = 3 * H;
  float* scores = workspace;  // [NH, Q, T]
  const VectorOps& ops = vector_ops();
  for (int64_t b = 0; b < s.batch; ++b) {
    const float* rows = qkv + b * T * token_stride;
    // scores[h] = Q_h K_h^T, K_h read as its transpose through the strides.
    const int64_t score_strides[3] = {Q * T, T, 1};
    batched_gemm(scores, score_strides, {rows, HD, token_stride, 1}, {rows + H, HD, 1, token_stride}, NH, Q, T, HD);
    ops.masked_softmax(scores, NH * Q, T, lengths[b], 1.0f / std::sqrt(static_cast<float>(HD)));
    const int64_t ctx_strides[3] = {HD, H, 1};
    batched_gemm(ctx + b * Q * H, ctx_strides, {scores, Q * T, T, 1}, {rows + 2 * H, HD, token_stride, 1}, NH, Q, HD, T);
  }
}

}  // namespace squish
