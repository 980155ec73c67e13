// The input of every similarity measure: activations borrowed from the caller, one row per sample (a
// valid token, never padding), one column per feature (a hidden unit). The two sides of a comparison
// share their rows (the same tokens) and may differ in columns.
#pragma once

#include <cstdint>

namespace squish {

// Row-major fp32 [rows, cols], contiguous (row r starts at data + r * cols); not owned.
struct ActivationMatrix {
  const float* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
};

}  // namespace squish
