// One causal attention task (kernels/causal_blocks.h) in fp32, compiled once per ISA folder
// (isa_avx512/, isa_avx2/, isa_scalar/; flags in src/kernels/CMakeLists.txt). A block of W query
// rows (the vector width) is held transposed, W rows to a vector, so each product is an outer
// product of broadcast scalars with contiguous vectors and no operand is ever repacked:
//   scores  S[j, r] = Σ_d K[j, d] · (Q[r, d] / √HD)   K[j, d] broadcast, Qᵀ[d, :] a vector
//   softmax of each row r over its visible keys j, down the columns of S: max, e = exp(s − max), Σ e
//   context ctx[r, d] = (Σ_j e[j, r] · V[j, d]) / Σ e   e[j, r] broadcast, V[j, d..] vectors
// Only keys the block's last row sees are read; a row's invisible keys get e = 0. Each output is one
// FMA chain over d or j, so the result does not depend on the thread count.
#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/causal_blocks.h"
#include "kernels/symmetric_codes_impl.h"
#include "kernels/vector_math_impl.h"

#ifndef SQUISH_ISA_NS
#error "define SQUISH_ISA_NS before including causal_attention_impl.h"
#endif

namespace squish::causal_fp32::SQUISH_ISA_NS {
namespace {

using squish::SQUISH_ISA_NS::exp_nonpositive;
#if defined(__AVX2__)
using squish::SQUISH_ISA_NS::first_lanes;
#endif

// A vector of W floats and the few operations the kernel needs of it.
#if defined(__AVX512F__)
constexpr int64_t W = 16;
using Vec = __m512;
using Mask = __mmask16;
Vec zero() { return _mm512_setzero_ps(); }
Vec splat(float x) { return _mm512_set1_ps(x); }
Vec load(const float* p) { return _mm512_loadu_ps(p); }
Vec load_first(const float* p, int64_t n) { return _mm512_maskz_loadu_ps(first_lanes(n), p); }
void store(float* p, Vec v) { _mm512_storeu_ps(p, v); }
void store_first(float* p, Vec v, int64_t n) { _mm512_mask_storeu_ps(p, first_lanes(n), v); }
Vec fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
Vec max(Vec a, Vec b) { return _mm512_max_ps(a, b); }
Vec mul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
Vec sub(Vec a, Vec b) { return _mm512_sub_ps(a, b); }
Vec select(Mask m, Vec a, Vec otherwise) { return _mm512_mask_blend_ps(m, otherwise, a); }
// Lanes r with key j visible: j < visible[r], and with branches, branch[j] 0 or the row's.
Mask visible_lanes(int64_t j, const int32_t* visible, int32_t key_branch, const int32_t* row_branch) {
  Mask m = _mm512_cmplt_epi32_mask(_mm512_set1_epi32(static_cast<int32_t>(j)), _mm512_loadu_si512(visible));
  if (row_branch && key_branch != 0)
    m &= _mm512_cmpeq_epi32_mask(_mm512_set1_epi32(key_branch), _mm512_loadu_si512(row_branch));
  return m;
}
#elif defined(__AVX2__)
constexpr int64_t W = 8;
using Vec = __m256;
using Mask = __m256;
Vec zero() { return _mm256_setzero_ps(); }
Vec splat(float x) { return _mm256_set1_ps(x); }
Vec load(const float* p) { return _mm256_loadu_ps(p); }
Vec load_first(const float* p, int64_t n) { return _mm256_maskload_ps(p, first_lanes(n)); }
void store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
void store_first(float* p, Vec v, int64_t n) { _mm256_maskstore_ps(p, first_lanes(n), v); }
Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
Vec max(Vec a, Vec b) { return _mm256_max_ps(a, b); }
Vec mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
Vec sub(Vec a, Vec b) { return _mm256_sub_ps(a, b); }
Vec select(Mask m, Vec a, Vec otherwise) { return _mm256_blendv_ps(otherwise, a, m); }
Mask visible_lanes(int64_t j, const int32_t* visible, int32_t key_branch, const int32_t* row_branch) {
  const __m256i rows = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(visible));
  __m256i m = _mm256_cmpgt_epi32(rows, _mm256_set1_epi32(static_cast<int32_t>(j)));
  if (row_branch && key_branch != 0)
    m = _mm256_and_si256(m, _mm256_cmpeq_epi32(_mm256_set1_epi32(key_branch),
                                               _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row_branch))));
  return _mm256_castsi256_ps(m);
}
#else
constexpr int64_t W = 8;
struct Vec {
  float x[W];
};
using Mask = uint32_t;
Vec splat(float v) {
  Vec r;
  for (float& x : r.x) x = v;
  return r;
}
Vec zero() { return splat(0.0f); }
Vec load_first(const float* p, int64_t n) {
  Vec r;
  for (int64_t i = 0; i < W; ++i) r.x[i] = i < n ? p[i] : 0.0f;
  return r;
}
Vec load(const float* p) { return load_first(p, W); }
void store_first(float* p, Vec v, int64_t n) {
  for (int64_t i = 0; i < std::min(n, W); ++i) p[i] = v.x[i];
}
void store(float* p, Vec v) { store_first(p, v, W); }
template <class F>
Vec lanewise(Vec a, Vec b, F f) {
  for (int64_t i = 0; i < W; ++i) a.x[i] = f(a.x[i], b.x[i]);
  return a;
}
Vec fma(Vec a, Vec b, Vec c) {
  for (int64_t i = 0; i < W; ++i) c.x[i] = std::fma(a.x[i], b.x[i], c.x[i]);
  return c;
}
Vec max(Vec a, Vec b) {
  return lanewise(a, b, [](float x, float y) { return std::max(x, y); });
}
Vec mul(Vec a, Vec b) {
  return lanewise(a, b, [](float x, float y) { return x * y; });
}
Vec add(Vec a, Vec b) {
  return lanewise(a, b, [](float x, float y) { return x + y; });
}
Vec sub(Vec a, Vec b) {
  return lanewise(a, b, [](float x, float y) { return x - y; });
}
Vec select(Mask m, Vec a, Vec otherwise) {
  for (int64_t i = 0; i < W; ++i)
    if (!(m >> i & 1)) a.x[i] = otherwise.x[i];
  return a;
}
Mask visible_lanes(int64_t j, const int32_t* visible, int32_t key_branch, const int32_t* row_branch) {
  Mask m = 0;
  for (int64_t i = 0; i < W; ++i)
    if (j < visible[i] && (!row_branch || key_branch == 0 || key_branch == row_branch[i])) m |= Mask{1} << i;
  return m;
}
#endif

Vec exp_of(Vec x) {
  alignas(64) float lanes[W];
  store(lanes, x);
#pragma omp simd
  for (int64_t i = 0; i < W; ++i) lanes[i] = exp_nonpositive(lanes[i]);
  return load(lanes);
}

constexpr int64_t kKeyBlock = 8;  // keys scored together: one broadcast each against one Qᵀ vector

// S[j, :] for keys [0, keys): kKeyBlock keys a step, each a chain of HD FMAs.
void scores(const CausalBlock& c, const float* qt, int64_t keys, float* s) {
  const int64_t HD = c.head_dim;
  int64_t j = 0;
  for (; j + kKeyBlock <= keys; j += kKeyBlock) {
    const float* k = c.k + j * c.row_stride;
    const int64_t st = c.row_stride;
    Vec a0 = zero(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (int64_t d = 0; d < HD; ++d) {
      const Vec q = load(qt + d * W);
      a0 = fma(splat(k[d]), q, a0);
      a1 = fma(splat(k[st + d]), q, a1);
      a2 = fma(splat(k[2 * st + d]), q, a2);
      a3 = fma(splat(k[3 * st + d]), q, a3);
      a4 = fma(splat(k[4 * st + d]), q, a4);
      a5 = fma(splat(k[5 * st + d]), q, a5);
      a6 = fma(splat(k[6 * st + d]), q, a6);
      a7 = fma(splat(k[7 * st + d]), q, a7);
    }
    const Vec acc[kKeyBlock] = {a0, a1, a2, a3, a4, a5, a6, a7};
    for (int64_t i = 0; i < kKeyBlock; ++i) store(s + (j + i) * W, acc[i]);
  }
  for (; j < keys; ++j) {
    const float* k = c.k + j * c.row_stride;
    Vec a = zero();
    for (int64_t d = 0; d < HD; ++d) a = fma(splat(k[d]), load(qt + d * W), a);
    store(s + j * W, a);
  }
}

// Each row's softmax down S's columns, in place: e = exp(s − max) for visible keys, 0 for the rest;
// returns 1 / Σ e per row.
Vec softmax_columns(const CausalBlock& c, float* s, int64_t keys, const int32_t* visible, const int32_t* row_branch) {
  Vec m = splat(-INFINITY);
  for (int64_t j = 0; j < keys; ++j) {
    const Mask lanes = visible_lanes(j, visible, c.branch ? c.branch[j] : 0, row_branch);
    m = max(m, select(lanes, load(s + j * W), splat(-INFINITY)));
  }
  Vec total = zero();
  for (int64_t j = 0; j < keys; ++j) {
    const Mask lanes = visible_lanes(j, visible, c.branch ? c.branch[j] : 0, row_branch);
    const Vec e = select(lanes, exp_of(sub(load(s + j * W), m)), zero());
    total = add(total, e);
    store(s + j * W, e);
  }
  alignas(64) float inverse[W];
  store(inverse, total);
  for (float& x : inverse) x = 1.0f / x;  // every row sees at least one key: Σ e ≥ 1
  return load(inverse);
}

// ctx rows [first, first + rows) of one head, four rows × two vectors of channels at a time (eight
// accumulators: AVX2 has 16 registers). The accumulators are named variables: as an array GCC 12
// keeps them on the stack, a store and a load around every FMA.
void context(const CausalBlock& c, float* ctx, const float* e, int64_t keys, int64_t first, int64_t rows, Vec inverse) {
  alignas(64) float inv[W];
  store(inv, inverse);
  const int64_t HD = c.head_dim;
  for (int64_t r0 = 0; r0 < rows; r0 += 4)
    for (int64_t d0 = 0; d0 < HD; d0 += 2 * W) {
      Vec a00 = zero(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
      const float* p = e + r0;
      for (int64_t j = 0; j < keys; ++j, p += W) {
        const float* v = c.v + j * c.row_stride + d0;
        const Vec v0 = load_first(v, HD - d0), v1 = load_first(v + W, HD - d0 - W);
        const Vec p0 = splat(p[0]), p1 = splat(p[1]), p2 = splat(p[2]), p3 = splat(p[3]);
        a00 = fma(p0, v0, a00);
        a01 = fma(p0, v1, a01);
        a10 = fma(p1, v0, a10);
        a11 = fma(p1, v1, a11);
        a20 = fma(p2, v0, a20);
        a21 = fma(p2, v1, a21);
        a30 = fma(p3, v0, a30);
        a31 = fma(p3, v1, a31);
      }
      const Vec acc[4][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};
      for (int64_t r = 0; r < 4 && r0 + r < rows; ++r)
        for (int64_t k = 0; k < 2 && d0 + k * W < HD; ++k)
          store_first(ctx + (first + r0 + r) * c.ctx_stride + d0 + k * W, mul(acc[r][k], splat(inv[r0 + r])),
                      HD - d0 - k * W);
    }
}

void causal_block(const CausalBlock& c) {
  const int64_t HD = c.head_dim;
  float* qt = reinterpret_cast<float*>(c.workspace);  // [HD, W]
  float* s = qt + (HD * W + 15) / 16 * 16;            // [keys, W]
  for (int64_t member = 0; member < c.group; ++member) {
    const float* q = c.q + member * HD;
    float* ctx = c.ctx + member * HD;
    for (int64_t r0 = 0; r0 < c.rows; r0 += W) {
      const int64_t first = c.first + r0, rows = std::min(W, c.rows - r0);
      // A padded query, and a lane past the block's rows, sees key 0 alone, whatever its branch.
      alignas(64) int32_t visible[W], row_branch[W];
      int64_t keys = 1;
      for (int64_t r = 0; r < W; ++r) {
        visible[r] = r < rows ? static_cast<int32_t>(causal_visible_keys(first + r, c.length)) : 1;
        row_branch[r] = c.branch ? c.branch[r < rows && first + r < c.length ? first + r : 0] : 0;
        keys = std::max<int64_t>(keys, visible[r]);
      }
      for (int64_t d = 0; d < HD; ++d)
        for (int64_t r = 0; r < W; ++r)
          qt[d * W + r] = r < rows ? q[(first + r) * c.row_stride + d] * c.score_scale : 0.0f;
      scores(c, qt, keys, s);
      const Vec inverse = softmax_columns(c, s, keys, visible, c.branch ? row_branch : nullptr);
      context(c, ctx, s, keys, first, rows, inverse);
    }
  }
}

}  // namespace

extern void (*const kCausalBlock)(const CausalBlock&);
void (*const kCausalBlock)(const CausalBlock&) = causal_block;

}  // namespace squish::causal_fp32::SQUISH_ISA_NS
