#include "io/torch_zip.h"

#include <zip.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

#include "core/error.h"
#include "core/printable.h"
#include "io/unpickler.h"

namespace squish {
namespace {

using pickle::Value;

// data.pkl of a state dict is ~100 bytes per tensor; this bounds the copy made before unpickling.
constexpr uint64_t kMaxPickleBytes = 256ull << 20;
// Deflate cannot expand data more than ~1032x; a record claiming more is lying about its size, and
// believing it would mean a huge allocation from a tiny file.
constexpr uint64_t kMaxDeflateRatio = 1032;

using Buffer = AlignedVector<unsigned char>;

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

std::string zip_message(int code) {
  zip_error_t e;
  zip_error_init_with_code(&e, code);
  std::string s = zip_error_strerror(&e);
  zip_error_fini(&e);
  return s;
}

// Refuses what is not a zip before libzip sees it, so a legacy torch.save pickle gets a message that
// says what to do about it instead of "not a zip archive".
void check_magic(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw IoError(path + ": cannot open: " + std::strerror(errno));
  unsigned char m[4] = {0, 0, 0, 0};
  const size_t n = std::fread(m, 1, 4, f);
  std::fclose(f);
  if (n >= 1 && m[0] == 0x80)
    throw FormatError(path +
                      ": legacy (non-zip) PyTorch checkpoint is unsupported; re-save with "
                      "torch.save(..., _use_new_zipfile_serialization=True) or convert to safetensors");
  if (n < 4 || m[0] != 'P' || m[1] != 'K' || m[2] != 3 || m[3] != 4) {
    std::string found;
    for (size_t i = 0; i < n; ++i) {
      char b[8];
      std::snprintf(b, sizeof b, "%s%02x", i ? " " : "", m[i]);
      found += b;
    }
    throw FormatError(path + ": expected a zip archive (bytes 50 4b 03 04), found " +
                      (n ? "bytes " + found : std::string("an empty file")));
  }
}

class Archive {
 public:
  explicit Archive(const std::string& path) : path_(path) {
    int err = 0;
    // ZIP_CHECKCONS cross-checks local and central headers, so a truncated or spliced archive fails here.
    zip_t* z = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (!z) throw FormatError(path + ": expected a readable zip archive, found: " + zip_message(err) + " (truncated or corrupt file?)");
    zip_.reset(z);
  }

  zip_t* get() const { return zip_.get(); }

  bool has(const std::string& name) const { return zip_name_locate(zip_.get(), name.c_str(), 0) >= 0; }

  // The whole record, or nullptr when it does not exist. `what` names the record's role in messages.
  std::shared_ptr<Buffer> read(const std::string& name, const std::string& what, uint64_t max_size) const {
    const zip_int64_t idx = zip_name_locate(zip_.get(), name.c_str(), 0);
    if (idx < 0) return nullptr;
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(zip_.get(), static_cast<zip_uint64_t>(idx), 0, &st) != 0)
      fail(what, "expected a readable record '" + name + "', found: " + zip_strerror(zip_.get()));
    const zip_uint64_t need = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD;
    if ((st.valid & need) != need) fail(what, "expected record '" + name + "' to have sizes and a method, found none");
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
      fail(what, "expected an unencrypted record '" + name + "', found an encrypted one");
    if (st.comp_method == ZIP_CM_STORE) {
      if (st.size != st.comp_size)
        fail(what, "expected stored record '" + name + "' to have equal sizes, found " + std::to_string(st.size) + " vs " +
                       std::to_string(st.comp_size) + " compressed");
    } else if (st.comp_method == ZIP_CM_DEFLATE) {
      if (st.size / kMaxDeflateRatio > st.comp_size + 1)
        fail(what, "expected deflated record '" + name + "' to expand at most " + std::to_string(kMaxDeflateRatio) +
                       "x, found " + std::to_string(st.comp_size) + " -> " + std::to_string(st.size) + " bytes");
    } else {
      fail(what, "expected record '" + name + "' stored or deflated, found compression method " + std::to_string(st.comp_method));
    }
    if (st.size > max_size)
      fail(what, "expected record '" + name + "' of at most " + std::to_string(max_size) + " bytes, found " + std::to_string(st.size));

    std::unique_ptr<zip_file_t, ZipFileCloser> f(zip_fopen_index(zip_.get(), static_cast<zip_uint64_t>(idx), 0));
    if (!f) fail(what, "expected a readable record '" + name + "', found: " + zip_strerror(zip_.get()));
    auto buf = std::make_shared<Buffer>(static_cast<size_t>(st.size));
    uint64_t got = 0;
    while (got < st.size) {
      const zip_int64_t n = zip_fread(f.get(), buf->data() + got, st.size - got);
      if (n < 0) fail(what, "expected a readable record '" + name + "', found: " + zip_file_strerror(f.get()));
      if (n == 0) break;
      got += static_cast<uint64_t>(n);
    }
    // Reading to the end makes libzip verify the CRC, which catches a record whose bytes were altered.
    unsigned char extra;
    const zip_int64_t tail = got == st.size ? zip_fread(f.get(), &extra, 1) : 0;
    if (tail < 0) fail(what, "expected record '" + name + "' to match its checksum, found: " + zip_file_strerror(f.get()));
    if (got != st.size || tail != 0)
      fail(what, "expected record '" + name + "' of " + std::to_string(st.size) + " bytes, found " +
                     (got != st.size ? std::to_string(got) : std::string("more")));
    return buf;
  }

  [[noreturn]] void fail(const std::string& what, const std::string& msg) const {
    throw FormatError(path_ + ": " + what + ": " + msg);
  }

 private:
  std::string path_;
  std::unique_ptr<zip_t, ZipCloser> zip_;
};

// The archive's top folder is whatever name the file had when saved ("archive", "pytorch_model", ...):
// find the single "<top>/data.pkl".
std::string find_prefix(const std::string& path, const Archive& ar) {
  const zip_int64_t n = zip_get_num_entries(ar.get(), 0);
  std::string prefix;
  bool torchscript = false;
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* raw = zip_get_name(ar.get(), static_cast<zip_uint64_t>(i), 0);
    if (!raw) continue;
    const std::string name = raw;
    const size_t slash = name.find('/');
    if (slash == std::string::npos) continue;
    const std::string rest = name.substr(slash + 1);
    if (rest == "constants.pkl") torchscript = true;
    if (rest != "data.pkl") continue;
    if (!prefix.empty())
      throw FormatError(path + ": expected one '<archive>/data.pkl' record, found '" + printable(prefix) + "data.pkl' and '" +
                        printable(name) + "'");
    prefix = name.substr(0, slash + 1);
  }
  if (torchscript)
    throw FormatError(path + ": TorchScript archive (torch.jit.save) is unsupported; save the model's state_dict() instead");
  if (prefix.empty())
    throw FormatError(path + ": expected a PyTorch checkpoint with an '<archive>/data.pkl' record, found none");
  return prefix;
}

struct CheckedExtent {
  uint64_t numel = 0;
  uint64_t end_bytes = 0;  // one past the last byte the tensor touches in its storage
  bool contiguous = true;
};

CheckedExtent extent(const std::string& path, const std::string& name, const pickle::TensorRef& t) {
  auto fail = [&](const std::string& what) -> void {
    throw FormatError(path + ": tensor '" + printable(name) + "': " + what);
  };
  CheckedExtent e;
  e.numel = 1;
  for (int64_t d : t.shape)
    if (__builtin_mul_overflow(e.numel, static_cast<uint64_t>(d), &e.numel))
      fail("expected an element count that fits 64 bits, found shape " + shape_str(t.shape));
  if (e.numel > static_cast<uint64_t>(INT64_MAX)) fail("expected an element count that fits 63 bits, found shape " + shape_str(t.shape));
  // Row-major check as torch does it: dimensions of size 1 may carry any stride.
  uint64_t expected = 1;
  for (size_t i = t.shape.size(); i-- > 0;) {
    if (t.shape[i] == 1) continue;
    if (static_cast<uint64_t>(t.stride[i]) != expected) e.contiguous = false;
    expected *= static_cast<uint64_t>(t.shape[i]);  // cannot overflow: bounded by numel
  }
  if (e.numel == 0) return e;
  uint64_t last = static_cast<uint64_t>(t.storage_offset);
  for (size_t i = 0; i < t.shape.size(); ++i) {
    uint64_t span = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(t.shape[i] - 1), static_cast<uint64_t>(t.stride[i]), &span) ||
        __builtin_add_overflow(last, span, &last))
      fail("expected storage offset and strides within 64 bits, found offset " + std::to_string(t.storage_offset) +
           ", stride " + shape_str(t.stride) + " for shape " + shape_str(t.shape));
  }
  if (__builtin_add_overflow(last, uint64_t{1}, &e.end_bytes) ||
      __builtin_mul_overflow(e.end_bytes, uint64_t{dtype_size(t.dtype)}, &e.end_bytes))
    fail("expected a storage extent within 64 bits, found offset " + std::to_string(t.storage_offset) + " for shape " +
         shape_str(t.shape));
  return e;
}

// Gathers a strided view into row-major order, one element at a time (views in checkpoints are rare
// and small; speed is not the point, correctness of every index is, and extent() has bounded them all).
std::shared_ptr<Buffer> gather(const unsigned char* storage, const pickle::TensorRef& t, uint64_t numel) {
  const size_t es = dtype_size(t.dtype);
  auto out = std::make_shared<Buffer>(static_cast<size_t>(numel) * es);
  const size_t nd = t.shape.size();
  std::vector<int64_t> idx(nd, 0);
  uint64_t src = static_cast<uint64_t>(t.storage_offset);
  for (uint64_t k = 0; k < numel; ++k) {
    std::memcpy(out->data() + k * es, storage + src * es, es);
    for (size_t d = nd; d-- > 0;) {
      if (++idx[d] < t.shape[d]) {
        src += static_cast<uint64_t>(t.stride[d]);
        break;
      }
      src -= static_cast<uint64_t>(t.stride[d]) * static_cast<uint64_t>(t.shape[d] - 1);
      idx[d] = 0;
    }
  }
  return out;
}

}  // namespace

TensorMap read_torch_zip(const std::string& path) {
  check_magic(path);
  Archive ar(path);
  const std::string prefix = find_prefix(path, ar);

  // Tensor bytes are copied as they are stored; squish computes little-endian only.
  if (auto bo = ar.read(prefix + "byteorder", "byteorder", 64)) {
    const std::string s(bo->begin(), bo->end());
    if (s != "little")
      throw FormatError(path + ": byteorder: expected 'little', found '" + printable(s) + "' (big-endian checkpoints are unsupported)");
  }

  auto pkl = ar.read(prefix + "data.pkl", "data.pkl", kMaxPickleBytes);
  pickle::Unpickler up(std::string_view(reinterpret_cast<const char*>(pkl->data()), pkl->size()), path + ": data.pkl");
  const Value* root = up.load();
  if (root->kind != Value::Kind::kDict)
    throw FormatError(path + ": data.pkl: expected a state dict (dict of name -> tensor), found a value of type " +
                      std::string(pickle::kind_name(root->kind)));

  std::map<std::string, std::shared_ptr<Buffer>> storages;
  TensorMap out;
  for (size_t i = 0; i + 1 < root->items.size(); i += 2) {
    const Value* k = root->items[i];
    const Value* v = root->items[i + 1];
    if (k->kind != Value::Kind::kString)
      throw FormatError(path + ": data.pkl: expected tensor names to be strings, found a value of type " + std::string(pickle::kind_name(k->kind)));
    const std::string& name = k->s;
    if (v->kind != Value::Kind::kTensor)
      throw FormatError(path + ": tensor '" + printable(name) + "': expected a tensor, found a value of type " +
                        std::string(pickle::kind_name(v->kind)) + " (only plain state dicts are supported)");
    const pickle::TensorRef& t = *v->tensor;
    const CheckedExtent e = extent(path, name, t);

    auto& buf = storages[t.storage.key];
    if (!buf) {
      const std::string record = prefix + "data/" + t.storage.key;
      buf = ar.read(record, "tensor '" + printable(name) + "'", UINT64_MAX);
      if (!buf)
        throw FormatError(path + ": tensor '" + printable(name) + "': expected storage record '" + printable(record) +
                          "', found it missing from the archive");
    }
    if (e.end_bytes > buf->size())
      throw FormatError(path + ": tensor '" + printable(name) + "': expected its storage record '" + printable(t.storage.key) +
                        "' to hold " + std::to_string(e.end_bytes) + " bytes (offset " + std::to_string(t.storage_offset) +
                        ", shape " + shape_str(t.shape) + ", stride " + shape_str(t.stride) + ", " +
                        std::string(dtype_name(t.dtype)) + "), found " + std::to_string(buf->size()));

    RawTensor r;
    r.dtype = t.dtype;
    r.shape = t.shape;
    r.nbytes = static_cast<size_t>(e.numel) * dtype_size(t.dtype);
    if (e.numel == 0) {
      r.data = buf->data();
      r.owner = buf;
    } else if (e.contiguous) {
      r.data = buf->data() + static_cast<size_t>(t.storage_offset) * dtype_size(t.dtype);
      r.owner = buf;
    } else {
      auto g = gather(buf->data(), t, e.numel);
      r.data = g->data();
      r.owner = std::move(g);
    }
    // A pickled dict keeps the last of repeated keys, as torch.load would.
    out.insert_or_assign(name, std::move(r));
  }
  return out;
}

}  // namespace squish
