// The per-ISA half of attention_int8 (kernels/attention_int8.h): one (sequence, head) at a time,
// compiled once per ISA folder from attention_int8_impl.h. The packed layouts (HDp: the head
// width rounded up to 16; Tk: the sequence's valid keys rounded up to 16, padded with zero codes):
//   K: tiles of 16 keys, each HDp / 4 vectors of 64 bytes; byte 4·j + i of vector d4 holds key j's
//      dimension 4·d4 + i, so one vector feeds vpdpbusd's 16 lanes (a key each) for 4 dimensions;
//   V (VNNI, scalar): Tk / 4 key quads, each HDp channels × 4 bytes (channel c's keys 4·r .. 4·r + 3);
//   V (AVX2): Tk / 2 key pairs, each HDp channels × 2 int16, for vpmaddwd (exact for u8 × s8);
//      V's codes are per channel over the sequence (encoders) or per key (causal attention);
//   P: a row block's u8 codes (AVX2: widened to int16), Tk a row.
#pragma once

#include <cstdint>

#include "kernels/causal_blocks.h"

namespace squish::int8_attention {

inline constexpr int64_t kKeyTile = 16;
// Query rows quantized, scored, normalised and multiplied by V together.
inline constexpr int64_t kRowBlock = 8;

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

struct HeadArgs {
  const float* q;  // the head's first query row; rows `row_stride` floats apart (K and V likewise)
  const float* k;
  const float* v;
  int64_t row_stride;
  float* ctx;  // [queries, ctx_stride], the head's HD columns
  int64_t ctx_stride;
  int64_t tokens, queries, length, head_dim;
  float score_scale;   // 1 / sqrt(HD)
  uint8_t* workspace;  // head_workspace_bytes(tokens, head_dim), 64-byte aligned
};

// The scratch of one head, carved from one buffer (64-byte aligned pieces).
struct HeadWorkspace {
  int8_t* k;        // packed K
  int32_t* k_sums;  // Σ_d k[j, d] (VNNI's correction for its u8 = q + 128 queries)
  float* k_scales;  // [Tk]
  uint8_t* v;       // packed V
  float* v_scales;  // [HDp]
  float* v_inverse_scales;  // [HDp] 127 / max|v| per channel (lowbit::symmetric_inverse_scale)
  float* v_token_scales;    // [Tk] causal attention: V's scale per key (0 past the packed keys)
  uint8_t* q;       // [kRowBlock, HDp] query codes
  float* q_scales;  // [kRowBlock], times score_scale
  float* scores;    // [kRowBlock, Tk]
  uint8_t* p;       // [kRowBlock, Tk] codes (int16 on AVX2)
  float* p_scales;  // [kRowBlock]
  uint8_t* row;     // [HDp] one quantized row before it is scattered into K's tiles
};

inline int64_t carve_head_workspace(uint8_t* base, int64_t tokens, int64_t head_dim, HeadWorkspace* w) {
  const int64_t tk = round_up(tokens, kKeyTile), hdp = round_up(head_dim, 16);
  int64_t offset = 0;
  auto take = [&](int64_t bytes) {
    uint8_t* p = base ? base + offset : nullptr;
    offset += round_up(bytes, 64);
    return p;
  };
  HeadWorkspace ws;
  ws.k = reinterpret_cast<int8_t*>(take(tk * hdp));
  ws.k_sums = reinterpret_cast<int32_t*>(take(tk * 4));
  ws.k_scales = reinterpret_cast<float*>(take(tk * 4));
  ws.v = take(tk * hdp * 2);
  ws.v_scales = reinterpret_cast<float*>(take(hdp * 4));
  ws.v_inverse_scales = reinterpret_cast<float*>(take(hdp * 4));
  ws.v_token_scales = reinterpret_cast<float*>(take(tk * 4));
  ws.q = take(kRowBlock * hdp);
  ws.q_scales = reinterpret_cast<float*>(take(kRowBlock * 4));
  ws.scores = reinterpret_cast<float*>(take(kRowBlock * tk * 4));
  ws.p = take(kRowBlock * tk * 2);
  ws.p_scales = reinterpret_cast<float*>(take(kRowBlock * 4));
  ws.row = take(hdp);
  if (w) *w = ws;
  return offset;
}

inline int64_t head_workspace_bytes(int64_t tokens, int64_t head_dim) {
  return carve_head_workspace(nullptr, tokens, head_dim, nullptr);
}

struct AttentionInt8Kernels {
  void (*head)(const HeadArgs& a);
  void (*causal_group)(const CausalBlock& block);  // kernels/causal_blocks.h
};

}  // namespace squish::int8_attention
