// Two tensor types, one for each side of loading:
//  - RawTensor: a tensor as a checkpoint stores it (any dtype, borrowed bytes kept alive by `owner`,
//    e.g. a memory map). Readers of untrusted files produce these after checking every size.
//  - Tensor: an owned, 64-byte aligned, row-major fp32 array the kernels compute with.
// Dimension letters used across squish: B batch, T tokens, H hidden, NH heads, HD head dim,
// FF intermediate (feed-forward) size, V vocabulary, L layers, C classes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace squish {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& s);  // "[768, 3072]"
int64_t shape_numel(const Shape& s);

struct RawTensor {
  DType dtype = DType::kF32;
  Shape shape;
  const void* data = nullptr;
  size_t nbytes = 0;
  std::shared_ptr<const void> owner;  // keeps `data` valid
};

// Tensors of one checkpoint by name; ordered so error messages and listings are stable.
using TensorMap = std::map<std::string, RawTensor>;

// Large buffers (weights being staged for packing, activations) are mapped straight from the OS and
// unmapped when freed: from the heap, short-lived staging copies freed between long-lived packed
// weights left holes glibc keeps resident, which put BERT-base's load ~250 MB above its live data.
void* allocate_aligned_bytes(size_t bytes, size_t align);
void free_aligned_bytes(void* p, size_t bytes, size_t align);

template <class T, size_t kAlign = 64>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U, kAlign>&) {}
  template <class U>
  struct rebind {
    using other = AlignedAllocator<U, kAlign>;
  };
  T* allocate(size_t n) { return static_cast<T*>(allocate_aligned_bytes(n * sizeof(T), kAlign)); }
  void deallocate(T* p, size_t n) { free_aligned_bytes(p, n * sizeof(T), kAlign); }
  bool operator==(const AlignedAllocator&) const { return true; }
};

template <class T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

// Grows a scratch buffer to at least n elements and never shrinks it, so activations reused across
// batches fit the largest seen without pinning the first shape.
template <class T>
void ensure_size(AlignedVector<T>& buf, int64_t n) {
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
}

// out [rows.size(), width] = the given rows of a row-major [*, width] matrix, in order; out is sized to
// exactly that.
inline void gather_rows(const float* matrix, int64_t width, std::span<const int64_t> rows, AlignedVector<float>& out) {
  out.resize(rows.size() * static_cast<size_t>(width));
  for (size_t i = 0; i < rows.size(); ++i)
    std::copy_n(matrix + rows[i] * width, width, out.data() + static_cast<int64_t>(i) * width);
}

struct Tensor {
  Shape shape;
  AlignedVector<float> values;

  Tensor() = default;
  explicit Tensor(Shape s) : shape(std::move(s)), values(static_cast<size_t>(shape_numel(shape)), 0.0f) {}
  float* data() { return values.data(); }
  const float* data() const { return values.data(); }
  int64_t numel() const { return static_cast<int64_t>(values.size()); }
  int64_t dim(int i) const { return shape.at(static_cast<size_t>(i)); }
};

// The tensors stacked along their first dimension (fused Linears: Q|K|V); every other dimension equal.
Tensor concat_rows(const std::vector<Tensor>& parts);

}  // namespace squish
