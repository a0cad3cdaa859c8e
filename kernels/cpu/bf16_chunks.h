#pragma once
// bf16 operands read and written as stored: dense bf16 tensors are widened a chunk at a time into
// f32 buffers on the stack, computed on as f32, and the result rounded into the bf16 output, so an
// elementwise op on bf16 activations passes over memory once, as its f32 twin does, instead of
// converting whole tensors before and after. Conversions on the raw bits, in loops the compiler
// vectorises: widening puts the 16 bits on top of an f32; rounding is to nearest even, a NaN
// becoming the quiet NaN 0x7fc0 (as PyTorch writes it).
#include <array>
#include <bit>
#include <cstdint>

#include "core/tensor.h"
#include "kernels/cpu/parallel.h"

namespace iapt::kernels::cpu {

inline void widen_bf16(const uint16_t* s, float* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = std::bit_cast<float>(static_cast<uint32_t>(s[i]) << 16);
}

inline void round_to_bf16(const float* s, uint16_t* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t u = std::bit_cast<uint32_t>(s[i]);
    const uint16_t rounded = static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    d[i] = (u & 0x7fffffffu) > 0x7f800000u ? uint16_t{0x7fc0} : rounded;
  }
}

inline constexpr int64_t kBf16Chunk = 1024;  // f32 values per buffer: 4 KB, in L1 with its siblings

// Whether every tensor is a dense bf16 tensor of the first one's shape.
inline bool dense_bf16(std::initializer_list<const Tensor*> ts) {
  const Tensor* first = *ts.begin();
  for (const Tensor* t : ts)
    if (t->dtype() != DType::BF16 || !t->is_contiguous() || t->shape() != first->shape()) return false;
  return true;
}

// f(in, out, n): in[k] points at n widened values of inputs[k], out at n values to round into
// outputs[j]'s chunk; over every chunk of the tensors (all dense bf16 of one shape), the chunks
// split over the threads.
template <size_t K, size_t J, class F>
void bf16_chunks(const std::array<const Tensor*, K>& inputs, const std::array<const Tensor*, J>& outputs, F&& f) {
  const int64_t n = outputs[0]->numel();
  const int64_t chunks = (n + kBf16Chunk - 1) / kBf16Chunk;
  parallel_ranges(chunks, kElementwiseGrain / kBf16Chunk, [&](int64_t begin, int64_t end) {
    alignas(64) float in[K][kBf16Chunk];
    alignas(64) float out[J][kBf16Chunk];
    for (int64_t c = begin; c < end; ++c) {
      const int64_t at = c * kBf16Chunk, len = std::min(kBf16Chunk, n - at);
      std::array<const float*, K> in_ptrs;
      std::array<float*, J> out_ptrs;
      for (size_t k = 0; k < K; ++k) {
        widen_bf16(static_cast<const uint16_t*>(inputs[k]->raw_data()) + at, in[k], len);
        in_ptrs[k] = in[k];
      }
      for (size_t j = 0; j < J; ++j) out_ptrs[j] = out[j];
      f(in_ptrs, out_ptrs, len);
      for (size_t j = 0; j < J; ++j) round_to_bf16(out[j], static_cast<uint16_t*>(outputs[j]->raw_data()) + at, len);
    }
  });
}

}  // namespace iapt::kernels::cpu
