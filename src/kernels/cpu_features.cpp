#include "kernels/cpu_features.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "core/error.h"

namespace squish {

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = [] {
    __builtin_cpu_init();
    CpuFeatures f;
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
    f.avx512f = __builtin_cpu_supports("avx512f");
    f.avx512bw = __builtin_cpu_supports("avx512bw");
    f.avx512vl = __builtin_cpu_supports("avx512vl");
    f.avx512_vnni = __builtin_cpu_supports("avx512vnni");
    f.avx512_bf16 = __builtin_cpu_supports("avx512bf16");
    return f;
  }();
  return features;
}

static Isa detect_isa() {
  const CpuFeatures& f = cpu_features();
  Isa best = Isa::kScalar;
  if (f.avx2 && f.fma) best = Isa::kAvx2;
  if (best == Isa::kAvx2 && f.avx512f && f.avx512bw && f.avx512vl) best = Isa::kAvx512;
  if (const char* cap = std::getenv("SQUISH_ISA")) {
    const std::string c = cap;
    Isa limit;
    if (c == "scalar") limit = Isa::kScalar;
    else if (c == "avx2") limit = Isa::kAvx2;
    else if (c == "avx512") limit = Isa::kAvx512;
    else throw UsageError("SQUISH_ISA=" + c + ": expected scalar, avx2 or avx512");
    if (limit < best) best = limit;
  }
  return best;
}

Isa active_isa() {
  static const Isa isa = detect_isa();
  return isa;
}

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "?";
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon != std::string::npos && colon + 2 <= line.size()) return line.substr(colon + 2);
  }
  return "unknown";
}

}  // namespace squish
