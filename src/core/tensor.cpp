#include "core/tensor.h"

#include <sys/mman.h>

#include <algorithm>

namespace squish {
namespace {

// Below this, the heap serves the buffer (small tensors, biases); at and above, the OS does.
constexpr size_t kMappedBytes = size_t{1} << 20;

}  // namespace

void* allocate_aligned_bytes(size_t bytes, size_t align) {
  if (bytes < kMappedBytes) return ::operator new(bytes, std::align_val_t(align));
  // Pages are 4 KiB aligned, more than any alignment squish asks for.
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return p;
}

void free_aligned_bytes(void* p, size_t bytes, size_t align) {
  if (bytes < kMappedBytes) {
    ::operator delete(p, std::align_val_t(align));
    return;
  }
  ::munmap(p, bytes);
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Tensor concat_rows(const std::vector<Tensor>& parts) {
  Shape shape = parts.at(0).shape;
  shape[0] = 0;
  for (const Tensor& p : parts) shape[0] += p.dim(0);
  Tensor out(shape);
  float* dst = out.data();
  for (const Tensor& p : parts) dst = std::copy(p.values.begin(), p.values.end(), dst);
  return out;
}

}  // namespace squish
