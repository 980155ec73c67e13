#include "model/common/sparse_linear_weights.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include "core/error.h"

namespace squish {
namespace {

constexpr int64_t kU16Columns = 65536;  // U16 indices reach column 65535
int64_t mask_row_bytes(int64_t k) { return (k + 7) / 8; }
int64_t index_bytes(int64_t k) { return k <= kU16Columns ? 2 : 4; }

// -0 is a pruned weight too; storing it as +0 keeps the in-memory model equal to its reloaded self.
Tensor with_positive_zeros(const Tensor& w) {
  Tensor out = w;
  for (float& v : out.values)
    if (v == 0.0f) v = 0.0f;
  return out;
}

std::vector<TensorToWrite> encode_bitmask(const float* w, int64_t rows, int64_t k, int64_t nnz) {
  const int64_t row_bytes = mask_row_bytes(k);
  std::vector<uint8_t> mask(static_cast<size_t>(rows * row_bytes), 0);
  std::vector<float> values;
  values.reserve(static_cast<size_t>(nnz));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < k; ++c)
      if (const float v = w[r * k + c]; v != 0.0f) {
        mask[static_cast<size_t>(r * row_bytes + c / 8)] |= static_cast<uint8_t>(1u << (c % 8));
        values.push_back(v);
      }
  return {array_to_write(".weight_mask", DType::kU8, {rows, row_bytes}, mask.data()),
          array_to_write(".weight_values", DType::kF32, {nnz}, values.data())};
}

template <class Index>
std::vector<TensorToWrite> encode_csr(const float* w, int64_t rows, int64_t k, int64_t nnz, DType index_dtype) {
  std::vector<int32_t> indptr(static_cast<size_t>(rows + 1), 0);
  std::vector<Index> indices;
  std::vector<float> values;
  indices.reserve(static_cast<size_t>(nnz));
  values.reserve(static_cast<size_t>(nnz));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < k; ++c)
      if (const float v = w[r * k + c]; v != 0.0f) {
        indices.push_back(static_cast<Index>(c));
        values.push_back(v);
      }
    indptr[static_cast<size_t>(r + 1)] = static_cast<int32_t>(values.size());
  }
  return {array_to_write(".weight_indptr", DType::kI32, {rows + 1}, indptr.data()),
          array_to_write(".weight_indices", index_dtype, {nnz}, indices.data()),
          array_to_write(".weight_values", DType::kF32, {nnz}, values.data())};
}

template <class T>
T element(const RawTensor& t, int64_t i) {  // stored tensors are only 1-byte aligned
  T v;
  std::memcpy(&v, static_cast<const std::byte*>(t.data) + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
  return v;
}

// Reads one HF module's kept weights into its rows of a zeroed dense [rows, k] block.
class SparsePartReader {
 public:
  SparsePartReader(const LinearPart& part, int64_t k, const StoredTensorLookup& lookup, const std::string& file)
      : part_(part), k_(k), lookup_(lookup), file_(file), reader_(lookup, file, "sparse") {}

  void read(float* dst) const {
    const RawTensor* mask = lookup_(name(".weight_mask"));
    const RawTensor* indptr = lookup_(name(".weight_indptr"));
    const RawTensor* indices = lookup_(name(".weight_indices"));
    if (mask && (indptr || indices))
      fail(".weight_mask", "the module stores both a bitmask and CSR tensors; the sparse format stores one encoding");
    if (mask || !indptr)
      read_bitmask(dst);
    else
      read_csr(dst);
  }

 private:
  std::string name(const char* suffix) const { return part_.name + suffix; }
  [[noreturn]] void fail(const char* suffix, const std::string& what) const {
    throw FormatError(file_ + ": tensor '" + name(suffix) + "': " + what);
  }

  // The values tensor, checked to hold exactly the `nnz` weights the mask or indptr keeps.
  const RawTensor& values(int64_t nnz, const char* counted_by) const {
    const RawTensor* v = lookup_(name(".weight_values"));
    if (v && v->dtype == DType::kF32 && v->shape.size() == 1 && v->shape[0] != nnz)
      fail(".weight_values", "holds " + std::to_string(v->shape[0]) + " values, but '" + name(counted_by) + "' keeps " +
                                 std::to_string(nnz) + " weights");
    return reader_.get(name(".weight_values"), DType::kF32, {nnz});
  }

  float kept_value(const RawTensor& v, int64_t i) const {
    const float x = element<float>(v, i);
    if (x == 0.0f) fail(".weight_values", "value " + std::to_string(i) + " is zero; the sparse format stores only kept weights");
    return x;
  }

  void read_bitmask(float* dst) const {
    const int64_t rows = part_.rows, row_bytes = mask_row_bytes(k_);
    const RawTensor& mask = reader_.get(name(".weight_mask"), DType::kU8, {rows, row_bytes});
    const auto* bits = static_cast<const uint8_t*>(mask.data);
    // Bits past column K in a row's last byte would count as kept weights of no column.
    const auto padding = static_cast<uint8_t>(k_ % 8 == 0 ? 0 : 0xffu << (k_ % 8));
    int64_t nnz = 0;
    for (int64_t r = 0; r < rows; ++r) {
      if (bits[r * row_bytes + row_bytes - 1] & padding)
        fail(".weight_mask", "row " + std::to_string(r) + " sets bits past column " + std::to_string(k_ - 1));
      for (int64_t b = 0; b < row_bytes; ++b) nnz += std::popcount(bits[r * row_bytes + b]);
    }
    const RawTensor& v = values(nnz, ".weight_mask");
    int64_t next = 0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < k_; ++c)
        if (bits[r * row_bytes + c / 8] >> (c % 8) & 1u) {
          dst[r * k_ + c] = kept_value(v, next);
          ++next;
        }
  }

  void read_csr(float* dst) const {
    const int64_t rows = part_.rows;
    const RawTensor& indptr = reader_.get(name(".weight_indptr"), DType::kI32, {rows + 1});
    if (element<int32_t>(indptr, 0) != 0)
      fail(".weight_indptr", "starts at " + std::to_string(element<int32_t>(indptr, 0)) + ", expected 0");
    for (int64_t r = 0; r < rows; ++r) {
      const int32_t begin = element<int32_t>(indptr, r), end = element<int32_t>(indptr, r + 1);
      if (end < begin)
        fail(".weight_indptr", "decreases from " + std::to_string(begin) + " to " + std::to_string(end) + " at row " +
                                   std::to_string(r));
      if (end - begin > k_)
        fail(".weight_indptr", "row " + std::to_string(r) + " keeps " + std::to_string(end - begin) +
                                   " weights, more than its " + std::to_string(k_) + " columns");
    }
    const int64_t nnz = element<int32_t>(indptr, rows);
    const RawTensor& v = values(nnz, ".weight_indptr");
    constexpr DType kIndexTypes[] = {DType::kU16, DType::kI32};
    const RawTensor& indices = reader_.get(name(".weight_indices"), kIndexTypes, {nnz});
    const auto index = [&](int64_t e) -> int64_t {
      return indices.dtype == DType::kU16 ? element<uint16_t>(indices, e) : element<int32_t>(indices, e);
    };
    for (int64_t r = 0; r < rows; ++r) {
      int64_t previous = -1;
      for (int64_t e = element<int32_t>(indptr, r); e < element<int32_t>(indptr, r + 1); ++e) {
        const int64_t c = index(e);
        if (c < 0 || c >= k_)
          fail(".weight_indices", "index " + std::to_string(c) + " at " + std::to_string(e) + " is outside [0, " +
                                      std::to_string(k_) + ")");
        if (c <= previous)
          fail(".weight_indices", "row " + std::to_string(r) + " lists column " + std::to_string(c) + " after " +
                                      std::to_string(previous) + "; expected increasing columns");
        dst[r * k_ + c] = kept_value(v, e);
        previous = c;
      }
    }
  }

  const LinearPart& part_;
  int64_t k_;
  const StoredTensorLookup& lookup_;
  const std::string& file_;
  StoredTensorReader reader_;
};

}  // namespace

SparseLinearWeights::SparseLinearWeights(const Tensor& w) {
  const Tensor canonical = with_positive_zeros(w);
  packed_ = PackedWeights::pack(canonical.data(), w.dim(0), w.dim(1));
  nonzeros_ = std::count_if(canonical.values.begin(), canonical.values.end(), [](float v) { return v != 0.0f; });
}

double SparseLinearWeights::density() const {
  const int64_t n = packed_.n() * packed_.k();
  return n > 0 ? static_cast<double>(nonzeros_) / static_cast<double>(n) : 0.0;
}

Tensor SparseLinearWeights::dequantize() const {
  Tensor w({packed_.n(), packed_.k()});
  packed_.unpack(w.data());
  return w;
}

void SparseLinearWeights::apply(float* y, const float* x, const float* bias, int64_t m, Epilogue epilogue,
                                LinearWorkspace&) const {
  gemm_packed(y, x, packed_, bias, m, epilogue);
}

std::vector<TensorToWrite> SparseLinearWeights::stored_rows(int64_t first, int64_t rows) const {
  const int64_t k = packed_.k();
  const Tensor w = dequantize();
  const float* slice = w.data() + first * k;
  const auto nnz = std::count_if(slice, slice + rows * k, [](float v) { return v != 0.0f; });
  const bool csr_fits = nnz <= std::numeric_limits<int32_t>::max();
  if (csr_fits && sparse_csr_bytes(rows, k, nnz) < sparse_bitmask_bytes(rows, k, nnz))
    return index_bytes(k) == 2 ? encode_csr<uint16_t>(slice, rows, k, nnz, DType::kU16)
                               : encode_csr<int32_t>(slice, rows, k, nnz, DType::kI32);
  return encode_bitmask(slice, rows, k, nnz);
}

std::shared_ptr<const LinearWeights> sparse_f32_weights(const Tensor& w) {
  if (w.shape.size() != 2) throw ShapeError("sparse weights: expected [N, K], found " + shape_str(w.shape));
  return std::make_shared<SparseLinearWeights>(w);
}

const SparseLinearWeights* sparse_weights_of(const Linear& linear) {
  return dynamic_cast<const SparseLinearWeights*>(linear.weights.get());
}

int64_t sparse_bitmask_bytes(int64_t rows, int64_t k, int64_t nnz) { return rows * mask_row_bytes(k) + 4 * nnz; }

int64_t sparse_csr_bytes(int64_t rows, int64_t k, int64_t nnz) { return 4 * (rows + 1) + (index_bytes(k) + 4) * nnz; }

std::shared_ptr<const LinearWeights> read_sparse(const std::vector<LinearPart>& parts, int64_t k, int64_t,
                                                 const StoredTensorLookup& lookup, const std::string& file) {
  int64_t n = 0;
  for (const auto& p : parts) n += p.rows;
  Tensor w({n, k});
  int64_t row = 0;
  for (const auto& p : parts) {
    SparsePartReader(p, k, lookup, file).read(w.data() + row * k);
    row += p.rows;
  }
  return sparse_f32_weights(w);
}

}  // namespace squish
