// A restricted pickle reader for PyTorch state dicts (the data.pkl inside a torch zip checkpoint).
// It is NOT a Python unpickler: it never imports, calls or executes anything. GLOBAL names are checked
// against a short allow-list (OrderedDict, torch's tensor/parameter rebuilders, torch storage types) and
// anything else is a FormatError naming it; REDUCE only "calls" those rebuilders, implemented here in C++,
// which record a tensor's storage key, dtype, offset, shape and stride. It reads no storage bytes: that
// is torch_zip.cpp's job. Opcodes cover what protocols 2-5 emit for a state dict; others are rejected.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace squish::pickle {

// A storage as a persistent id names it: ('storage', <torch.XStorage>, key, location, numel).
struct StorageRef {
  std::string key;   // record name under "<archive>/data/"
  DType dtype;       // element type of the storage class (UntypedStorage: U8)
  int64_t numel;     // elements as declared by the pickle (informational: the record's size is what counts)
};

// A tensor as _rebuild_tensor_v2 describes it; offset and strides are in elements of `dtype`.
struct TensorRef {
  StorageRef storage;
  DType dtype;
  int64_t storage_offset = 0;
  Shape shape;
  std::vector<int64_t> stride;
};

struct Value {
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kBytes, kTuple, kList, kDict, kGlobal, kStorage, kTensor };
  Kind kind = Kind::kNone;
  bool b = false;
  int64_t i = 0;
  double f = 0.0;
  std::string s;               // kString, kBytes; kGlobal: "module.name"
  std::vector<Value*> items;   // kTuple, kList; kDict: key0, value0, key1, value1, ... in insertion order
  std::unique_ptr<TensorRef> tensor;    // kTensor
  std::unique_ptr<StorageRef> storage;  // kStorage
};

std::string_view kind_name(Value::Kind k);

// Owns every Value it creates (in one flat arena, so a hostile pickle's deep or cyclic structure can
// neither overflow the stack on destruction nor leak): returned pointers live as long as the Unpickler.
class Unpickler {
 public:
  // `bytes` is not copied and must outlive the Unpickler; `where` prefixes every error message
  // (e.g. "model.bin: data.pkl").
  Unpickler(std::string_view bytes, std::string where);
  ~Unpickler();
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;

  // Runs the pickle to its STOP and returns the object it built. Throws FormatError on any opcode,
  // global or argument outside what a PyTorch state dict uses, and on truncated or inconsistent input.
  const Value* load();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether `module.name` may appear in a GLOBAL. Exposed for tests and documentation.
bool is_allowed_global(std::string_view qualified_name);

}  // namespace squish::pickle
