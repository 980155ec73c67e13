#include "kernels/reference/reference_ops.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/dtype.h"

namespace squish::reference {

float gelu_erf(float x) { return static_cast<float>(0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)))); }

namespace {

float epilogue_value(double v, float before, Epilogue e) {
  switch (e) {
    case Epilogue::kNone: return static_cast<float>(v);
    case Epilogue::kGelu: return gelu_erf(static_cast<float>(v));
    case Epilogue::kTanh: return static_cast<float>(std::tanh(v));
    case Epilogue::kAccumulate: return static_cast<float>(before + v);
    case Epilogue::kRelu: return static_cast<float>(std::max(v, 0.0));
  }
  return 0.0f;
}

}  // namespace

void dequant_epilogue(float* y, const int32_t* acc, const float* row_scales, const int32_t* row_zero_points,
                      const float* col_scales, const int32_t* col_sums, const float* b, int64_t m, int64_t n, Epilogue e) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const double integer = static_cast<double>(acc[i * n + j]) - static_cast<double>(row_zero_points[i]) * col_sums[j];
      const double v = static_cast<double>(row_scales[i]) * col_scales[j] * integer + (b ? b[j] : 0.0);
      y[i * n + j] = epilogue_value(v, y[i * n + j], e);
    }
}

void linear(float* y, const float* x, const float* w, const float* b, int64_t m, int64_t n, int64_t k, Epilogue e) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = b ? b[j] : 0.0;
      for (int64_t p = 0; p < k; ++p) acc += static_cast<double>(x[i * k + p]) * w[j * k + p];
      y[i * n + j] = epilogue_value(acc, y[i * n + j], e);
    }
  }
}

void gemm_u8s8s32(int32_t* acc, const uint8_t* x, const int8_t* w, int64_t m, int64_t n, int64_t k) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int64_t sum = 0;
      for (int64_t p = 0; p < k; ++p) sum += static_cast<int64_t>(x[i * k + p]) * w[j * k + p];
      acc[i * n + j] = static_cast<int32_t>(sum);
    }
}

void quantize_rows_symmetric(int8_t* xq, float* row_scales, const float* x, int64_t m, int64_t k) {
  for (int64_t i = 0; i < m; ++i) {
    float amax = 0.0f;
    for (int64_t p = 0; p < k; ++p) amax = std::fmax(amax, std::fabs(x[i * k + p]));
    row_scales[i] = amax / 127.0f;
    float inverse = amax > 0.0f ? 127.0f / amax : 0.0f;
    if (!std::isfinite(inverse)) inverse = 0.0f;
    for (int64_t p = 0; p < k; ++p) xq[i * k + p] = static_cast<int8_t>(std::nearbyint(x[i * k + p] * inverse));
  }
}

void gemm_lowbit(float* y, const float* x, const GroupQuantized& w, const float* b, int64_t m, Epilogue e) {
  const int64_t n = w.n, k = w.k, groups = w.groups_per_row();
  std::vector<int8_t> xq(static_cast<size_t>(m * k));
  std::vector<float> xs(static_cast<size_t>(m));
  quantize_rows_symmetric(xq.data(), xs.data(), x, m, k);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p) {
        const size_t g = static_cast<size_t>(j * groups + p / w.group_size);
        const double weight = static_cast<double>(w.scales[g]) * w.codes[static_cast<size_t>(j * k + p)] + w.minimums[g];
        acc += weight * xq[static_cast<size_t>(i * k + p)];
      }
      const double v = static_cast<double>(xs[static_cast<size_t>(i)]) * acc + (b ? b[j] : 0.0);
      y[i * n + j] = epilogue_value(v, y[i * n + j], e);
    }
}

void gemm_f16(float* y, const float* x, const uint16_t* w, const float* b, int64_t m, int64_t n, int64_t k, Epilogue e) {
  std::vector<float> widened(static_cast<size_t>(n * k));
  for (size_t i = 0; i < widened.size(); ++i) widened[i] = half_to_float(w[i]);
  linear(y, x, widened.data(), b, m, n, k, e);
}

void layernorm(float* y, const float* x, const float* gamma, const float* beta, int64_t rows, int64_t n, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < n; ++i) mean += x[r * n + i];
    mean /= static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) var += (x[r * n + i] - mean) * (x[r * n + i] - mean);
    var /= static_cast<double>(n);
    const double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t i = 0; i < n; ++i) y[r * n + i] = static_cast<float>((x[r * n + i] - mean) * inv * gamma[i] + beta[i]);
  }
}

void rmsnorm(float* y, const float* x, const float* gamma, int64_t rows, int64_t n, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    double sq = 0;
    for (int64_t i = 0; i < n; ++i) sq += static_cast<double>(x[r * n + i]) * x[r * n + i];
    const double inv = 1.0 / std::sqrt(sq / static_cast<double>(n) + eps);
    for (int64_t i = 0; i < n; ++i) y[r * n + i] = static_cast<float>(gamma[i] * (x[r * n + i] * inv));
  }
}

void silu_mul(float* y, const float* gate_up, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; ++j) {
      const double g = gate_up[r * 2 * n + j], u = gate_up[r * 2 * n + n + j];
      y[r * n + j] = static_cast<float>(g / (1.0 + std::exp(-g)) * u);
    }
}

double log_sum_exp(const float* x, int64_t n) {
  double mx = -INFINITY, sum = 0;
  for (int64_t j = 0; j < n; ++j) mx = std::fmax(mx, x[j]);
  for (int64_t j = 0; j < n; ++j) sum += std::exp(x[j] - mx);
  return mx + std::log(sum);
}

void masked_softmax(float* s, int64_t rows, int64_t cols, int64_t valid, float scale) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = s + r * cols;
    double mx = -INFINITY;
    for (int64_t j = 0; j < valid; ++j) mx = std::fmax(mx, row[j]);
    double sum = 0;
    std::vector<double> e(static_cast<size_t>(valid));
    for (int64_t j = 0; j < valid; ++j) sum += e[j] = std::exp((row[j] - mx) * scale);
    for (int64_t j = 0; j < valid; ++j) row[j] = static_cast<float>(e[j] / sum);
    for (int64_t j = valid; j < cols; ++j) row[j] = 0.0f;
  }
}

void attention(float* ctx, const float* qkv, const int32_t* lengths, const AttentionShape& s) {
  const int64_t T = s.tokens, HD = s.head_dim, H = s.hidden();
  std::vector<float> scores(static_cast<size_t>(T));
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.heads; ++h) {
      for (int64_t i = 0; i < T; ++i) {
        const float* q = qkv + (b * T + i) * 3 * H + h * HD;
        for (int64_t j = 0; j < T; ++j) {
          const float* k = qkv + (b * T + j) * 3 * H + H + h * HD;
          double dot = 0;
          for (int64_t d = 0; d < HD; ++d) dot += static_cast<double>(q[d]) * k[d];
          scores[j] = static_cast<float>(dot);
        }
        masked_softmax(scores.data(), 1, T, lengths[b], static_cast<float>(1.0 / std::sqrt(static_cast<double>(HD))));
        for (int64_t d = 0; d < HD; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < T; ++j) acc += static_cast<double>(scores[j]) * qkv[(b * T + j) * 3 * H + 2 * H + h * HD + d];
          ctx[(b * T + i) * H + h * HD + d] = static_cast<float>(acc);
        }
      }
    }
  }
}

namespace {

// round-half-even(x · 127 / amax) in fp32: 0 for amax 0 (and where 127 / amax overflows).
int32_t symmetric_code(float x, float amax) {
  float inverse = amax > 0.0f ? 127.0f / amax : 0.0f;
  if (!std::isfinite(inverse)) inverse = 0.0f;
  return static_cast<int32_t>(std::nearbyint(x * inverse));
}

}  // namespace

void attention_int8(float* ctx, const float* qkv, const int32_t* lengths, const AttentionShape& s) {
  const int64_t T = s.tokens, HD = s.head_dim, H = s.hidden();
  auto at = [&](int64_t b, int64_t t, int64_t part, int64_t h, int64_t d) {
    return qkv[(b * T + t) * 3 * H + part * H + h * HD + d];
  };
  for (int64_t b = 0; b < s.batch; ++b) {
    const int64_t L = lengths[b];
    for (int64_t h = 0; h < s.heads; ++h) {
      // K per key row, V per channel over the valid keys.
      std::vector<int32_t> k(static_cast<size_t>(L * HD)), v(static_cast<size_t>(L * HD));
      std::vector<double> k_scale(static_cast<size_t>(L)), v_scale(static_cast<size_t>(HD));
      for (int64_t j = 0; j < L; ++j) {
        float amax = 0.0f;
        for (int64_t d = 0; d < HD; ++d) amax = std::fmax(amax, std::fabs(at(b, j, 1, h, d)));
        k_scale[j] = amax / 127.0f;
        for (int64_t d = 0; d < HD; ++d) k[j * HD + d] = symmetric_code(at(b, j, 1, h, d), amax);
      }
      for (int64_t d = 0; d < HD; ++d) {
        float amax = 0.0f;
        for (int64_t j = 0; j < L; ++j) amax = std::fmax(amax, std::fabs(at(b, j, 2, h, d)));
        v_scale[d] = amax / 127.0f;
        for (int64_t j = 0; j < L; ++j) v[j * HD + d] = symmetric_code(at(b, j, 2, h, d), amax);
      }
      for (int64_t i = 0; i < T; ++i) {
        float amax = 0.0f;
        for (int64_t d = 0; d < HD; ++d) amax = std::fmax(amax, std::fabs(at(b, i, 0, h, d)));
        std::vector<double> p(static_cast<size_t>(L));
        double mx = -INFINITY, sum = 0;
        for (int64_t j = 0; j < L; ++j) {
          int64_t dot = 0;
          for (int64_t d = 0; d < HD; ++d) dot += int64_t{symmetric_code(at(b, i, 0, h, d), amax)} * k[j * HD + d];
          p[j] = static_cast<double>(dot) * k_scale[j] * (amax / 127.0f) / std::sqrt(static_cast<double>(HD));
          mx = std::fmax(mx, p[j]);
        }
        // e = exp(s - max) is P / max P: codes round(255 e), scale max P / 255 = 1 / (255 sum e).
        for (int64_t j = 0; j < L; ++j) sum += p[j] = std::exp(p[j] - mx);
        for (int64_t d = 0; d < HD; ++d) {
          int64_t dot = 0;
          for (int64_t j = 0; j < L; ++j) dot += std::llrint(p[j] * 255.0) * v[j * HD + d];
          ctx[(b * T + i) * H + h * HD + d] = static_cast<float>(static_cast<double>(dot) * v_scale[d] / (255.0 * sum));
        }
      }
    }
  }
}

void causal_attention_int8(float* ctx, const float* qkv, const int32_t* lengths, const int32_t* branch_ids,
                           const CausalAttentionShape& s) {
  const int64_t T = s.tokens, HD = s.head_dim, W = s.row_width(), group = s.heads / s.kv_heads;
  // A row's codes and scale (amax / 127), in fp32 as the kernels compute them.
  auto code_row = [&](const float* x, int32_t* codes) {
    float amax = 0.0f;
    for (int64_t d = 0; d < HD; ++d) amax = std::fmax(amax, std::fabs(x[d]));
    for (int64_t d = 0; d < HD; ++d) codes[d] = symmetric_code(x[d], amax);
    return static_cast<double>(amax / 127.0f);
  };
  std::vector<int32_t> q(static_cast<size_t>(HD)), k(static_cast<size_t>(T * HD)), v(static_cast<size_t>(T * HD));
  std::vector<double> k_scale(static_cast<size_t>(T)), v_scale(static_cast<size_t>(T));
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t g = 0; g < s.kv_heads; ++g) {
      for (int64_t j = 0; j < lengths[b]; ++j) {
        const float* row = qkv + (b * T + j) * W + s.query_width() + g * HD;
        k_scale[j] = code_row(row, &k[j * HD]);
        v_scale[j] = code_row(row + s.kv_width(), &v[j * HD]);
      }
      for (int64_t h = g * group; h < (g + 1) * group; ++h)
        for (int64_t i = 0; i < lengths[b]; ++i) {
          const double q_scale = code_row(qkv + (b * T + i) * W + h * HD, q.data());
          std::vector<int64_t> keys;
          for (int64_t j = 0; j <= i; ++j)
            if (!branch_ids || branch_ids[b * T + j] == 0 || branch_ids[b * T + j] == branch_ids[b * T + i])
              keys.push_back(j);
          std::vector<double> p(keys.size());
          double mx = -INFINITY, sum = 0, weighted_max = 0;
          for (size_t n = 0; n < keys.size(); ++n) {
            int64_t dot = 0;
            for (int64_t d = 0; d < HD; ++d) dot += int64_t{q[d]} * k[keys[n] * HD + d];
            p[n] = static_cast<double>(dot) * k_scale[keys[n]] * q_scale / std::sqrt(static_cast<double>(HD));
            mx = std::fmax(mx, p[n]);
          }
          for (size_t n = 0; n < keys.size(); ++n) {
            const double e = std::exp(p[n] - mx);
            sum += e;
            weighted_max = std::fmax(weighted_max, p[n] = e * v_scale[keys[n]]);
          }
          for (int64_t d = 0; d < HD; ++d) {
            int64_t dot = 0;
            if (weighted_max > 0)
              for (size_t n = 0; n < keys.size(); ++n)
                dot += std::llrint(p[n] * 255.0 / weighted_max) * v[keys[n] * HD + d];
            ctx[(b * T + i) * s.query_width() + h * HD + d] =
                static_cast<float>(static_cast<double>(dot) * weighted_max / (255.0 * sum));
          }
        }
    }
}

// Every visible key listed explicitly, softmax in double: no -inf, no reliance on masking order.
void causal_attention(float* ctx, const float* qkv, const int32_t* lengths, const int32_t* branch_ids,
                      const CausalAttentionShape& s) {
  const int64_t T = s.tokens, HD = s.head_dim, W = s.row_width(), group = s.heads / s.kv_heads;
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.heads; ++h)
      for (int64_t i = 0; i < lengths[b]; ++i) {
        const float* q = qkv + (b * T + i) * W + h * HD;
        const int64_t g = h / group;
        std::vector<int64_t> keys;
        for (int64_t j = 0; j <= i; ++j)
          if (!branch_ids || branch_ids[b * T + j] == 0 || branch_ids[b * T + j] == branch_ids[b * T + i])
            keys.push_back(j);
        std::vector<double> p(keys.size());
        double mx = -INFINITY, sum = 0;
        for (size_t n = 0; n < keys.size(); ++n) {
          const float* k = qkv + (b * T + keys[n]) * W + s.query_width() + g * HD;
          double dot = 0;
          for (int64_t d = 0; d < HD; ++d) dot += static_cast<double>(q[d]) * k[d];
          p[n] = dot / std::sqrt(static_cast<double>(HD));
          mx = std::fmax(mx, p[n]);
        }
        for (double& x : p) sum += x = std::exp(x - mx);
        for (int64_t d = 0; d < HD; ++d) {
          double acc = 0;
          for (size_t n = 0; n < keys.size(); ++n)
            acc += p[n] / sum * qkv[(b * T + keys[n]) * W + s.query_width() + s.kv_width() + g * HD + d];
          ctx[(b * T + i) * s.query_width() + h * HD + d] = static_cast<float>(acc);
        }
      }
}

}  // namespace squish::reference
