// How causal attention, fp32 (causal_attention.h) and int8 (attention_int8.h), divides its work:
// tasks of (sequence, KV group, block of `block_rows` queries), each computed whole by one
// thread in its own slice of the workspace, so results never depend on the thread count (nor a
// distributed run's on its ranks). A task reads only the keys its last query sees, and every query
// head of its group (GQA) shares what it derives from them.
#pragma once

#include <cstdint>

#include "kernels/causal_attention.h"

namespace squish {

struct CausalBlock {
  const float* q;  // the group's first query head at the sequence's token 0; its heads HD floats apart
  const float* k;  // the group's K head at token 0 (V likewise); token rows `row_stride` floats apart
  const float* v;
  int64_t row_stride;
  float* ctx;  // the group's first head's context at token 0; heads HD floats apart, rows ctx_stride
  int64_t ctx_stride;
  int64_t tokens, first, rows, length, head_dim, group;
  float score_scale;      // 1 / sqrt(HD)
  const int32_t* branch;  // the sequence's [tokens] branch ids, or null
  uint8_t* workspace;     // the thread's slice, 64-byte aligned
};

// Keys query i of a sequence of `length` valid tokens sees before branches: 0 .. i, or key 0 alone
// for a padded query (finite, and ignored).
inline int64_t causal_visible_keys(int64_t i, int64_t length) { return i < length ? i + 1 : 1; }

// Whether query i sees key j ≤ i under branches (kernels/causal_attention.h).
inline bool branch_visible(const int32_t* branch, int64_t query, int64_t key) {
  return !branch || branch[key] == 0 || branch[key] == branch[query];
}

// Runs `block` on every task of the shape, `block_rows` queries a task; `workspace` holds
// `per_thread` bytes (a multiple of 64) for each thread.
void run_causal_blocks(void (*block)(const CausalBlock&), int64_t block_rows, uint8_t* workspace, int64_t per_thread,
                       float* ctx, const float* qkv, const int32_t* lengths, const int32_t* branch_ids,
                       const CausalAttentionShape& s);

}  // namespace squish
