// Counter-based random numbers: the draw for element i of a stream is a pure function of
// (seed, stream, i), so a parallel loop produces the same numbers at any thread count and a
// backward pass can regenerate what its forward drew. The mixer is SplitMix64's finaliser
// (Steele, Lea, Flood 2014), whose output passes BigCrush for consecutive inputs.
// Not here: sequential generators for shuffles (std::mt19937_64 with io/datasets' bounded draw).
#pragma once

#include <cstdint>

namespace squish {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// A stream key from a seed and the stream's coordinates (training step, site, layer).
inline uint64_t random_stream(uint64_t seed, uint64_t a, uint64_t b = 0, uint64_t c = 0) {
  return splitmix64(splitmix64(splitmix64(seed ^ splitmix64(a)) ^ b) ^ c);
}

// 64 random bits for element i of `stream`.
inline uint64_t random_bits(uint64_t stream, uint64_t i) { return splitmix64(stream + splitmix64(i)); }

// Uniform in [0, 1) with 24 random bits (every float it returns is exact).
inline float random_uniform(uint64_t stream, uint64_t i) {
  return static_cast<float>(random_bits(stream, i) >> 40) * (1.0f / 16777216.0f);
}

}  // namespace squish
