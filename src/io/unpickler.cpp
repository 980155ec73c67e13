#include "io/unpickler.h"

#include <cstring>
#include <limits>
#include <unordered_map>

#include "core/error.h"
#include "core/printable.h"

namespace squish::pickle {
namespace {

// Bounds on what one pickle may build. A state dict of 50k tensors needs ~1M values; past these a
// hostile file of one-byte opcodes would cost gigabytes of bookkeeping before failing anywhere else.
constexpr size_t kMaxValues = size_t{1} << 22;
constexpr size_t kMaxStack = size_t{1} << 20;

enum Op : unsigned char {
  kMark = '(', kStop = '.', kPop = '0', kPopMark = '1', kDup = '2',
  kBinFloat = 'G', kBinInt = 'J', kBinInt1 = 'K', kBinInt2 = 'M', kNone = 'N', kBinPersId = 'Q',
  kReduce = 'R', kBinUnicode = 'X', kEmptyList = ']', kAppend = 'a', kBuild = 'b', kGlobal = 'c',
  kDict = 'd', kEmptyDict = '}', kAppends = 'e', kBinGet = 'h', kLongBinGet = 'j', kList = 'l',
  kBinPut = 'q', kLongBinPut = 'r', kSetItem = 's', kTuple = 't', kEmptyTuple = ')', kSetItems = 'u',
  kBinBytes = 'B', kShortBinBytes = 'C',
  kProto = 0x80, kTuple1 = 0x85, kTuple2 = 0x86, kTuple3 = 0x87, kNewTrue = 0x88, kNewFalse = 0x89,
  kLong1 = 0x8a, kLong4 = 0x8b, kShortBinUnicode = 0x8c, kBinUnicode8 = 0x8d, kBinBytes8 = 0x8e,
  kStackGlobal = 0x93, kMemoize = 0x94, kFrame = 0x95,
};

struct StorageClass {
  const char* name;
  bool supported;
  DType dtype;
};

// Persistent ids name storages by class; the class fixes the element type. Classes squish has no
// dtype for are still recognised so the error says "unsupported dtype", not "disallowed global".
constexpr StorageClass kStorageClasses[] = {
    {"torch.FloatStorage", true, DType::kF32},     {"torch.HalfStorage", true, DType::kF16},
    {"torch.BFloat16Storage", true, DType::kBF16}, {"torch.DoubleStorage", true, DType::kF64},
    {"torch.LongStorage", true, DType::kI64},      {"torch.IntStorage", true, DType::kI32},
    {"torch.CharStorage", true, DType::kI8},       {"torch.ByteStorage", true, DType::kU8},
    {"torch.BoolStorage", true, DType::kBool},     {"torch.UntypedStorage", true, DType::kU8},
    {"torch.storage.UntypedStorage", true, DType::kU8},
    {"torch.ShortStorage", false, DType::kU8},     {"torch.ComplexFloatStorage", false, DType::kU8},
    {"torch.ComplexDoubleStorage", false, DType::kU8},
};

const StorageClass* find_storage_class(std::string_view name) {
  for (const auto& c : kStorageClasses)
    if (name == c.name) return &c;
  return nullptr;
}

constexpr std::string_view kCallables[] = {
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
};

}  // namespace

bool is_allowed_global(std::string_view name) {
  for (auto c : kCallables)
    if (name == c) return true;
  return find_storage_class(name) != nullptr;
}

std::string_view kind_name(Value::Kind k) {
  switch (k) {
    case Value::Kind::kNone: return "None";
    case Value::Kind::kBool: return "bool";
    case Value::Kind::kInt: return "int";
    case Value::Kind::kFloat: return "float";
    case Value::Kind::kString: return "str";
    case Value::Kind::kBytes: return "bytes";
    case Value::Kind::kTuple: return "tuple";
    case Value::Kind::kList: return "list";
    case Value::Kind::kDict: return "dict";
    case Value::Kind::kGlobal: return "global";
    case Value::Kind::kStorage: return "storage";
    case Value::Kind::kTensor: return "tensor";
  }
  return "?";
}

struct Unpickler::Impl {
  std::string_view in;
  std::string where;
  size_t pos = 0;
  size_t op_pos = 0;  // start of the opcode being run, for messages
  std::vector<std::unique_ptr<Value>> arena;
  std::vector<Value*> stack;
  std::vector<size_t> marks;
  std::unordered_map<uint64_t, Value*> memo;  // a map, not a vector: LONG_BINPUT 4e9 must not allocate 4e9 slots

  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError(where + ": pickle byte " + std::to_string(op_pos) + ": " + what);
  }

  Value* make(Value::Kind k) {
    if (arena.size() >= kMaxValues) fail("expected at most " + std::to_string(kMaxValues) + " objects, found more");
    arena.push_back(std::make_unique<Value>());
    arena.back()->kind = k;
    return arena.back().get();
  }

  void push(Value* v) {
    if (stack.size() >= kMaxStack) fail("expected a stack depth of at most " + std::to_string(kMaxStack) + ", found deeper");
    stack.push_back(v);
  }

  Value* pop() {
    if (stack.empty() || (!marks.empty() && stack.size() <= marks.back()))
      fail("expected a value on the stack, found " + std::string(stack.empty() ? "an empty stack" : "a MARK"));
    Value* v = stack.back();
    stack.pop_back();
    return v;
  }

  Value* top() {
    if (stack.empty() || (!marks.empty() && stack.size() <= marks.back())) fail("expected a value on the stack, found none");
    return stack.back();
  }

  // Everything above the most recent MARK, which is removed.
  std::vector<Value*> pop_mark() {
    if (marks.empty()) fail("expected a MARK before this opcode, found none");
    const size_t m = marks.back();
    marks.pop_back();
    std::vector<Value*> items(stack.begin() + static_cast<std::ptrdiff_t>(m), stack.end());
    stack.resize(m);
    return items;
  }

  const unsigned char* take(uint64_t n) {
    if (n > in.size() - pos)
      fail("expected " + std::to_string(n) + " more bytes, found " + std::to_string(in.size() - pos) + " (truncated pickle)");
    const auto* p = reinterpret_cast<const unsigned char*>(in.data() + pos);
    pos += static_cast<size_t>(n);
    return p;
  }

  uint64_t read_le(int n) {
    const unsigned char* p = take(static_cast<uint64_t>(n));
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
  }

  std::string read_line() {
    const size_t nl = in.find('\n', pos);
    if (nl == std::string_view::npos) fail("expected a newline-terminated GLOBAL name, found end of data");
    std::string s(in.substr(pos, nl - pos));
    pos = nl + 1;
    return s;
  }

  Value* make_int(int64_t v) {
    Value* x = make(Value::Kind::kInt);
    x->i = v;
    return x;
  }

  Value* make_string(Value::Kind k, uint64_t n) {
    const unsigned char* p = take(n);
    Value* x = make(k);
    x->s.assign(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
    return x;
  }

  // Python ints are unbounded; squish only needs sizes, offsets and strides, so anything past 64 bits
  // is refused instead of silently truncated.
  Value* make_long(uint64_t n) {
    if (n > 8) fail("expected an integer of at most 8 bytes, found " + std::to_string(n) + " bytes");
    const unsigned char* p = take(n);
    uint64_t v = 0;
    for (uint64_t i = n; i-- > 0;) v = (v << 8) | p[i];
    if (n > 0 && n < 8 && (p[n - 1] & 0x80)) v |= ~uint64_t{0} << (8 * n);  // sign-extend
    return make_int(static_cast<int64_t>(v));
  }

  Value* make_seq(Value::Kind k, std::vector<Value*> items) {
    Value* x = make(k);
    x->items = std::move(items);
    return x;
  }

  void memo_put(uint64_t idx) { memo[idx] = top(); }

  Value* memo_get(uint64_t idx) {
    auto it = memo.find(idx);
    if (it == memo.end()) fail("expected memo entry " + std::to_string(idx) + " to be set, found it unset");
    return it->second;
  }

  Value* make_global(const std::string& module, const std::string& name) {
    const std::string q = module + "." + name;
    if (!is_allowed_global(q))
      fail("global '" + printable(q) +
           "' is not allowed (a state dict only needs OrderedDict, torch tensor rebuilders and storage types; "
           "nothing in a checkpoint is ever executed)");
    Value* g = make(Value::Kind::kGlobal);
    g->s = q;
    return g;
  }

  std::string describe(const Value* v) const {
    std::string d(kind_name(v->kind));
    if (v->kind == Value::Kind::kGlobal) d += " '" + v->s + "'";
    if (v->kind == Value::Kind::kString) d += " '" + printable(v->s) + "'";
    if (v->kind == Value::Kind::kTuple || v->kind == Value::Kind::kList) d += " of " + std::to_string(v->items.size());
    return d;
  }

  // BINPERSID: ('storage', <storage class>, key, location, numel) -> a storage reference.
  Value* persistent_load(Value* pid) {
    if (pid->kind != Value::Kind::kTuple || pid->items.size() != 5)
      fail("persistent id: expected ('storage', class, key, location, numel), found " + describe(pid));
    const auto& it = pid->items;
    if (it[0]->kind != Value::Kind::kString || it[0]->s != "storage")
      fail("persistent id: expected the tag 'storage', found " + describe(it[0]));
    if (it[1]->kind != Value::Kind::kGlobal) fail("persistent id: expected a storage class, found " + describe(it[1]));
    const StorageClass* cls = find_storage_class(it[1]->s);
    if (!cls) fail("persistent id: expected a torch storage class, found " + describe(it[1]));
    if (!cls->supported) fail("persistent id: storage class '" + it[1]->s + "' has a dtype squish does not support");
    if (it[2]->kind != Value::Kind::kString || it[2]->s.empty() || it[2]->s.find('/') != std::string::npos ||
        it[2]->s.find('\0') != std::string::npos)
      fail("persistent id: expected a storage key (a record name), found " + describe(it[2]));
    if (it[4]->kind != Value::Kind::kInt || it[4]->i < 0)
      fail("persistent id: expected a non-negative element count, found " + describe(it[4]));
    Value* s = make(Value::Kind::kStorage);
    s->storage = std::make_unique<StorageRef>(StorageRef{it[2]->s, cls->dtype, it[4]->i});
    return s;
  }

  std::vector<int64_t> int_tuple(const Value* v, const char* what) {
    if (v->kind != Value::Kind::kTuple && v->kind != Value::Kind::kList)
      fail(std::string("tensor ") + what + ": expected a tuple of integers, found " + describe(v));
    std::vector<int64_t> out;
    for (const Value* x : v->items) {
      if (x->kind != Value::Kind::kInt || x->i < 0)
        fail(std::string("tensor ") + what + ": expected non-negative integers, found " +
             (x->kind == Value::Kind::kInt ? std::to_string(x->i) : describe(x)));
      out.push_back(x->i);
    }
    return out;
  }

  Value* rebuild_tensor(const std::vector<Value*>& a) {
    if (a[0]->kind != Value::Kind::kStorage) fail("tensor: expected a storage as first argument, found " + describe(a[0]));
    if (a[1]->kind != Value::Kind::kInt || a[1]->i < 0)
      fail("tensor: expected a non-negative storage offset, found " + describe(a[1]));
    auto t = std::make_unique<TensorRef>();
    t->storage = *a[0]->storage;
    t->dtype = t->storage.dtype;
    t->storage_offset = a[1]->i;
    t->shape = int_tuple(a[2], "size");
    t->stride = int_tuple(a[3], "stride");
    if (t->stride.size() != t->shape.size())
      fail("tensor: expected one stride per dimension (" + std::to_string(t->shape.size()) + "), found " +
           std::to_string(t->stride.size()));
    Value* v = make(Value::Kind::kTensor);
    v->tensor = std::move(t);
    return v;
  }

  // The only "calls" a pickle can make: C++ stand-ins for the allow-listed Python callables.
  Value* reduce(Value* callable, Value* args) {
    if (callable->kind != Value::Kind::kGlobal) fail("REDUCE: expected a callable global, found " + describe(callable));
    if (args->kind != Value::Kind::kTuple) fail("REDUCE: expected an argument tuple, found " + describe(args));
    const std::string& f = callable->s;
    const auto& a = args->items;
    auto want = [&](size_t lo, size_t hi) {
      if (a.size() >= lo && a.size() <= hi) return;
      std::string range = std::to_string(lo);
      if (hi != lo) range.append("-").append(std::to_string(hi));
      fail(f + ": expected " + range + " arguments, found " + std::to_string(a.size()));
    };
    if (f == "collections.OrderedDict") {
      want(0, 0);
      return make(Value::Kind::kDict);
    }
    if (f == "torch._utils._rebuild_tensor_v2") {
      want(6, 7);  // storage, offset, size, stride, requires_grad, backward_hooks[, metadata]
      return rebuild_tensor(a);
    }
    if (f == "torch._utils._rebuild_tensor") {
      want(4, 4);
      return rebuild_tensor(a);
    }
    if (f == "torch._utils._rebuild_parameter" || f == "torch._utils._rebuild_parameter_with_state") {
      want(f == "torch._utils._rebuild_parameter" ? 3 : 4, f == "torch._utils._rebuild_parameter" ? 3 : 4);
      if (a[0]->kind != Value::Kind::kTensor) fail(f + ": expected a tensor, found " + describe(a[0]));
      return a[0];
    }
    fail("REDUCE: '" + f + "' cannot be called (it is only valid as a storage class)");
  }

  const Value* run() {
    while (true) {
      op_pos = pos;
      const unsigned char op = *take(1);
      switch (op) {
        case kProto: {
          const uint64_t v = read_le(1);
          if (v < 2 || v > 5) fail("expected pickle protocol 2-5, found " + std::to_string(v));
          break;
        }
        case kFrame: {
          const uint64_t n = read_le(8);
          if (n > in.size() - pos) fail("expected a frame of " + std::to_string(n) + " bytes, found " + std::to_string(in.size() - pos));
          break;
        }
        case kStop: {
          Value* v = pop();
          if (!stack.empty() || !marks.empty()) fail("expected an empty stack at STOP, found leftover values");
          return v;
        }
        case kMark:
          if (marks.size() >= kMaxStack) fail("expected at most " + std::to_string(kMaxStack) + " open MARKs, found more");
          marks.push_back(stack.size());
          break;
        case kPop: pop(); break;
        case kPopMark: pop_mark(); break;
        case kDup: push(top()); break;
        case kNone: push(make(Value::Kind::kNone)); break;
        case kNewTrue:
        case kNewFalse: {
          Value* b = make(Value::Kind::kBool);
          b->b = op == kNewTrue;
          push(b);
          break;
        }
        case kBinInt: push(make_int(static_cast<int32_t>(static_cast<uint32_t>(read_le(4))))); break;
        case kBinInt1: push(make_int(static_cast<int64_t>(read_le(1)))); break;
        case kBinInt2: push(make_int(static_cast<int64_t>(read_le(2)))); break;
        case kLong1: push(make_long(read_le(1))); break;
        case kLong4: push(make_long(read_le(4))); break;
        case kBinFloat: {
          const unsigned char* p = take(8);
          uint64_t bits = 0;
          for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];  // big-endian, unlike everything else
          Value* x = make(Value::Kind::kFloat);
          std::memcpy(&x->f, &bits, 8);
          push(x);
          break;
        }
        case kShortBinUnicode: push(make_string(Value::Kind::kString, read_le(1))); break;
        case kBinUnicode: push(make_string(Value::Kind::kString, read_le(4))); break;
        case kBinUnicode8: push(make_string(Value::Kind::kString, read_le(8))); break;
        case kShortBinBytes: push(make_string(Value::Kind::kBytes, read_le(1))); break;
        case kBinBytes: push(make_string(Value::Kind::kBytes, read_le(4))); break;
        case kBinBytes8: push(make_string(Value::Kind::kBytes, read_le(8))); break;
        case kEmptyTuple: push(make(Value::Kind::kTuple)); break;
        case kEmptyList: push(make(Value::Kind::kList)); break;
        case kEmptyDict: push(make(Value::Kind::kDict)); break;
        case kTuple: push(make_seq(Value::Kind::kTuple, pop_mark())); break;
        case kList: push(make_seq(Value::Kind::kList, pop_mark())); break;
        case kTuple1:
        case kTuple2:
        case kTuple3: {
          std::vector<Value*> items(static_cast<size_t>(op - kTuple1 + 1));
          for (size_t i = items.size(); i-- > 0;) items[i] = pop();
          push(make_seq(Value::Kind::kTuple, std::move(items)));
          break;
        }
        case kDict: {
          auto items = pop_mark();
          if (items.size() % 2) fail("DICT: expected key/value pairs, found an odd number of items");
          push(make_seq(Value::Kind::kDict, std::move(items)));
          break;
        }
        case kAppend: {
          Value* v = pop();
          Value* list = top();
          if (list->kind != Value::Kind::kList) fail("APPEND: expected a list, found " + describe(list));
          list->items.push_back(v);
          break;
        }
        case kAppends: {
          auto items = pop_mark();
          Value* list = top();
          if (list->kind != Value::Kind::kList) fail("APPENDS: expected a list, found " + describe(list));
          list->items.insert(list->items.end(), items.begin(), items.end());
          break;
        }
        case kSetItem: {
          Value* v = pop();
          Value* k = pop();
          Value* d = top();
          if (d->kind != Value::Kind::kDict) fail("SETITEM: expected a dict, found " + describe(d));
          d->items.push_back(k);
          d->items.push_back(v);
          break;
        }
        case kSetItems: {
          auto items = pop_mark();
          if (items.size() % 2) fail("SETITEMS: expected key/value pairs, found an odd number of items");
          Value* d = top();
          if (d->kind != Value::Kind::kDict) fail("SETITEMS: expected a dict, found " + describe(d));
          d->items.insert(d->items.end(), items.begin(), items.end());
          break;
        }
        case kBinPut: memo_put(read_le(1)); break;
        case kLongBinPut: memo_put(read_le(4)); break;
        case kMemoize: memo_put(memo.size()); break;
        case kBinGet: push(memo_get(read_le(1))); break;
        case kLongBinGet: push(memo_get(read_le(4))); break;
        case kGlobal: {
          const std::string module = read_line();
          const std::string name = read_line();
          push(make_global(module, name));
          break;
        }
        case kStackGlobal: {
          Value* name = pop();
          Value* module = pop();
          if (module->kind != Value::Kind::kString || name->kind != Value::Kind::kString)
            fail("STACK_GLOBAL: expected two strings, found " + describe(module) + " and " + describe(name));
          push(make_global(module->s, name->s));
          break;
        }
        case kBinPersId: push(persistent_load(pop())); break;
        case kReduce: {
          Value* args = pop();
          Value* callable = pop();
          push(reduce(callable, args));
          break;
        }
        case kBuild: {
          // OrderedDict state dicts carry a `_metadata` attribute set through BUILD; it holds module
          // versions squish does not need. BUILD on anything else would mean running __setstate__.
          Value* state = pop();
          Value* target = top();
          if (target->kind != Value::Kind::kDict) fail("BUILD: expected a dict to set attributes on, found " + describe(target));
          (void)state;
          break;
        }
        default: {
          static const char* hex = "0123456789abcdef";
          fail(std::string("unsupported pickle opcode 0x") + hex[op >> 4] + hex[op & 15] +
               " (only the opcodes of a PyTorch state dict are implemented)");
        }
      }
    }
  }
};

Unpickler::Unpickler(std::string_view bytes, std::string where) : impl_(std::make_unique<Impl>()) {
  impl_->in = bytes;
  impl_->where = std::move(where);
}

Unpickler::~Unpickler() = default;

const Value* Unpickler::load() { return impl_->run(); }

}  // namespace squish::pickle
