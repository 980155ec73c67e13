// Which vector ISA this CPU offers, detected once at run time. squish is never built with
// -march=native: the same binary runs on AVX-512 machines (Zen 4/5) and AVX2-only ones, and the
// kernels pick their variant from here. SQUISH_ISA=avx2|scalar caps the choice (tests use it to
// exercise every path on one machine).
#pragma once

#include <string>
#include <string_view>

namespace squish {

enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

struct CpuFeatures {
  bool avx2 = false, fma = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512_vnni = false, avx512_bf16 = false;
};

const CpuFeatures& cpu_features();
// The best ISA both the CPU and the SQUISH_ISA cap allow.
Isa active_isa();
std::string_view isa_name(Isa isa);
// The CPU's marketing name from /proc/cpuinfo ("AMD EPYC 9R14 96-Core Processor"), "unknown" if unreadable.
std::string cpu_model_name();

}  // namespace squish
