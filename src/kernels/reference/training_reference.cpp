#include "kernels/reference/training_reference.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace squish::reference {

void matmul(float* c, const float* a, const float* b, int64_t m, int64_t n, int64_t k, Transpose ta, Transpose tb,
            Accumulate acc) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double sum = acc == Accumulate::kYes ? c[i * n + j] : 0.0;
      for (int64_t p = 0; p < k; ++p) {
        const double av = ta == Transpose::kYes ? a[p * m + i] : a[i * k + p];
        const double bv = tb == Transpose::kYes ? b[j * k + p] : b[p * n + j];
        sum += av * bv;
      }
      c[i * n + j] = static_cast<float>(sum);
    }
}

void bias_backward(float* db, const float* dy, int64_t rows, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    double sum = db[j];
    for (int64_t r = 0; r < rows; ++r) sum += dy[r * n + j];
    db[j] = static_cast<float>(sum);
  }
}

// erfc(−x/√2) rather than 1 + erf(x/√2): exact in the negative tail, where 1 + erf cancels.
void gelu_forward(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    y[i] = static_cast<float>(0.5 * v * std::erfc(-v / std::sqrt(2.0)));
  }
}

void gelu_backward(float* dx, const float* dy, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    const double cdf = 0.5 * std::erfc(-v / std::sqrt(2.0));
    const double pdf = std::exp(-0.5 * v * v) / std::sqrt(2.0 * M_PI);
    dx[i] = static_cast<float>(dy[i] * (cdf + v * pdf));
  }
}

void layernorm_forward(float* y, float* mean, float* rstd, const float* x, const float* gamma, const float* beta,
                       int64_t rows, int64_t n, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += xr[i];
    const double mu = sum / static_cast<double>(n);
    double sq = 0.0;
    for (int64_t i = 0; i < n; ++i) sq += (xr[i] - mu) * (xr[i] - mu);
    const double inv = 1.0 / std::sqrt(sq / static_cast<double>(n) + eps);
    for (int64_t i = 0; i < n; ++i) y[r * n + i] = static_cast<float>((xr[i] - mu) * inv * gamma[i] + beta[i]);
    mean[r] = static_cast<float>(mu);
    rstd[r] = static_cast<float>(inv);
  }
}

void layernorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x, const float* mean,
                        const float* rstd, const float* gamma, int64_t rows, int64_t n) {
  std::vector<double> dgamma_sum(dgamma, dgamma + n), dbeta_sum(dbeta, dbeta + n), xhat(n), g(n);
  for (int64_t r = 0; r < rows; ++r) {
    double sum_g = 0.0, sum_gx = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      xhat[i] = (static_cast<double>(x[r * n + i]) - mean[r]) * rstd[r];
      g[i] = static_cast<double>(dy[r * n + i]) * gamma[i];
      sum_g += g[i];
      sum_gx += g[i] * xhat[i];
      dgamma_sum[i] += dy[r * n + i] * xhat[i];
      dbeta_sum[i] += dy[r * n + i];
    }
    for (int64_t i = 0; i < n; ++i)
      dx[r * n + i] = static_cast<float>(rstd[r] * (g[i] - sum_g / n - xhat[i] * sum_gx / n));
  }
  for (int64_t i = 0; i < n; ++i) {
    dgamma[i] = static_cast<float>(dgamma_sum[i]);
    dbeta[i] = static_cast<float>(dbeta_sum[i]);
  }
}

float softmax_cross_entropy(float* d_logits, const float* logits, const int32_t* labels, int64_t batch, int64_t classes,
                            int64_t mean_over) {
  double loss = 0.0;
  for (int64_t b = 0; b < batch; ++b) {
    double sum = 0.0;
    for (int64_t c = 0; c < classes; ++c) sum += std::exp(static_cast<double>(logits[b * classes + c]));
    loss += std::log(sum) - logits[b * classes + labels[b]];
    for (int64_t c = 0; c < classes; ++c)
      d_logits[b * classes + c] = static_cast<float>(
          (std::exp(static_cast<double>(logits[b * classes + c])) / sum - (c == labels[b] ? 1.0 : 0.0)) / mean_over);
  }
  return static_cast<float>(loss / mean_over);
}

void embedding_backward(float* d_table, const float* dy, const int32_t* ids, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; ++j) d_table[static_cast<int64_t>(ids[r]) * n + j] += dy[r * n + j];
}

namespace {

// Element (b, t, part, h, d) of a [B, T, 3H] fused buffer; part 0, 1, 2 = Q, K, V.
int64_t qkv_index(const AttentionShape& s, int64_t b, int64_t t, int64_t part, int64_t h, int64_t d) {
  return (b * s.tokens + t) * 3 * s.hidden() + part * s.hidden() + h * s.head_dim + d;
}

double dropped(double prob, const uint8_t* keep, int64_t index, float p) {
  return keep ? (keep[index] ? prob / (1.0 - p) : 0.0) : prob;
}

}  // namespace

void attention_train_forward(float* ctx, float* probs, const float* qkv, const int32_t* lengths, const uint8_t* keep,
                             float p, const AttentionShape& s) {
  const int64_t T = s.tokens, HD = s.head_dim, H = s.hidden();
  const double scale = 1.0 / std::sqrt(static_cast<double>(HD));
  std::vector<double> row(T);
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.heads; ++h)
      for (int64_t i = 0; i < T; ++i) {
        const int64_t len = lengths[b], base = ((b * s.heads + h) * T + i) * T;
        double mx = -INFINITY;
        for (int64_t j = 0; j < len; ++j) {
          double dot = 0.0;
          for (int64_t d = 0; d < HD; ++d)
            dot += static_cast<double>(qkv[qkv_index(s, b, i, 0, h, d)]) * qkv[qkv_index(s, b, j, 1, h, d)];
          row[j] = dot * scale;
          mx = std::fmax(mx, row[j]);
        }
        double sum = 0.0;
        for (int64_t j = 0; j < len; ++j) sum += (row[j] = std::exp(row[j] - mx));
        for (int64_t j = 0; j < T; ++j) {
          row[j] = j < len ? row[j] / sum : 0.0;
          probs[base + j] = static_cast<float>(row[j]);
        }
        for (int64_t d = 0; d < HD; ++d) {
          double acc = 0.0;
          for (int64_t j = 0; j < len; ++j) acc += dropped(row[j], keep, base + j, p) * qkv[qkv_index(s, b, j, 2, h, d)];
          ctx[(b * T + i) * H + h * HD + d] = static_cast<float>(acc);
        }
      }
}

void attention_backward(float* d_qkv, const float* d_ctx, const float* qkv, const float* probs,
                        const int32_t* lengths, const uint8_t* keep, float p, const AttentionShape& s) {
  const int64_t T = s.tokens, HD = s.head_dim, H = s.hidden();
  const double scale = 1.0 / std::sqrt(static_cast<double>(HD));
  std::vector<double> dq(T * HD), dk(T * HD), dv(T * HD), ds(T * T);
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.heads; ++h) {
      const int64_t base = (b * s.heads + h) * T * T;
      auto dc = [&](int64_t i, int64_t d) { return static_cast<double>(d_ctx[(b * T + i) * H + h * HD + d]); };
      std::fill(dq.begin(), dq.end(), 0.0);
      std::fill(dk.begin(), dk.end(), 0.0);
      std::fill(dv.begin(), dv.end(), 0.0);
      for (int64_t i = 0; i < T; ++i) {
        double dot = 0.0;
        for (int64_t j = 0; j < T; ++j) {
          double d_dropped = 0.0;
          for (int64_t d = 0; d < HD; ++d) d_dropped += dc(i, d) * qkv[qkv_index(s, b, j, 2, h, d)];
          const double dp = dropped(d_dropped, keep, base + i * T + j, p);
          ds[i * T + j] = dp;
          dot += dp * probs[base + i * T + j];
          const double weight = dropped(probs[base + i * T + j], keep, base + i * T + j, p);
          for (int64_t d = 0; d < HD; ++d) dv[j * HD + d] += weight * dc(i, d);
        }
        for (int64_t j = 0; j < T; ++j) ds[i * T + j] = probs[base + i * T + j] * (ds[i * T + j] - dot) * scale;
      }
      for (int64_t i = 0; i < T; ++i)
        for (int64_t j = 0; j < T; ++j)
          for (int64_t d = 0; d < HD; ++d) {
            dq[i * HD + d] += ds[i * T + j] * qkv[qkv_index(s, b, j, 1, h, d)];
            dk[j * HD + d] += ds[i * T + j] * qkv[qkv_index(s, b, i, 0, h, d)];
          }
      for (int64_t t = 0; t < T; ++t)
        for (int64_t d = 0; d < HD; ++d) {
          d_qkv[qkv_index(s, b, t, 0, h, d)] = static_cast<float>(dq[t * HD + d]);
          d_qkv[qkv_index(s, b, t, 1, h, d)] = static_cast<float>(dk[t * HD + d]);
          d_qkv[qkv_index(s, b, t, 2, h, d)] = static_cast<float>(dv[t * HD + d]);
        }
    }
}

}  // namespace squish::reference
