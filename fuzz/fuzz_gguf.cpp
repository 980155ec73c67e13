// libFuzzer target for the GGUF reader and ggml dequantization: any bytes must give a GgufFile or a
// FormatError, never a crash, a sanitizer report or an allocation beyond the input's size. Built only with
// -DSQUISH_FUZZ=ON and clang (fuzz/CMakeLists.txt says how to run it).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "core/error.h"
#include "io/gguf.h"

namespace {

// The reader maps a path, so each input goes through one file per process (in memory where /dev/shm exists).
const std::string& input_path() {
  static const std::string path = [] {
    const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    return std::string(dir) + "/squish_fuzz_gguf_" + std::to_string(getpid()) + ".gguf";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::FILE* f = std::fopen(input_path().c_str(), "wb");
  if (!f) return 0;
  const bool written = std::fwrite(data, 1, size, f) == size;
  std::fclose(f);
  if (!written) return 0;
  try {
    const squish::GgufFile gguf = squish::read_gguf(input_path());
    for (const squish::GgufTensor& t : gguf.tensors)
      if (squish::ggml_type_traits(t.type).dequantizable) squish::dequantize_gguf_tensor(t);
  } catch (const squish::FormatError&) {
  }
  return 0;
}
