#pragma once
// Counter-based random numbers (Philox4x32-10). Element i of a draw depends only on (seed,
// offset + i), never on the thread that computes it, so CPU threads and CUDA blocks draw the
// same numbers for one seed.
#include <cstdint>
#include <cmath>

#if defined(__CUDACC__)
#define IAPT_HD __host__ __device__ __forceinline__
#else
#define IAPT_HD inline
#endif

namespace iapt {

struct PhiloxBlock {
  uint32_t v[4];
};

IAPT_HD PhiloxBlock philox4x32_10(uint64_t key, uint64_t counter) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
    uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
    uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    uint32_t n1 = static_cast<uint32_t>(p1);
    uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    uint32_t n3 = static_cast<uint32_t>(p0);
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return PhiloxBlock{{c0, c1, c2, c3}};
}

// Uniform in [0, 1): 24 random bits for f32, 53 for f64.
IAPT_HD float philox_uniform_f32(uint64_t seed, uint64_t index) {
  return static_cast<float>(philox4x32_10(seed, index).v[0] >> 8) * (1.0f / 16777216.0f);
}
IAPT_HD double philox_uniform_f64(uint64_t seed, uint64_t index) {
  PhiloxBlock b = philox4x32_10(seed, index);
  uint64_t bits = ((static_cast<uint64_t>(b.v[0]) << 32) | b.v[1]) >> 11;
  return static_cast<double>(bits) * (1.0 / 9007199254740992.0);
}
// Standard normal by Box-Muller on the block's two 53-bit halves (u1 kept away from 0).
IAPT_HD double philox_normal(uint64_t seed, uint64_t index) {
  PhiloxBlock b = philox4x32_10(seed, index);
  uint64_t h1 = ((static_cast<uint64_t>(b.v[0]) << 32) | b.v[1]) >> 11;
  uint64_t h2 = ((static_cast<uint64_t>(b.v[2]) << 32) | b.v[3]) >> 11;
  double u1 = (static_cast<double>(h1) + 0.5) * (1.0 / 9007199254740992.0);
  double u2 = static_cast<double>(h2) * (1.0 / 9007199254740992.0);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

// A seed and a running offset: each draw of n numbers takes the next n counters.
class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void manual_seed(uint64_t seed) { seed_ = seed, offset_ = 0; }
  // Returns the first counter of a block of n and advances past it.
  uint64_t take(uint64_t n) {
    uint64_t first = offset_;
    offset_ += n;
    return first;
  }

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
};

Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace iapt
